//! Time for the scheduler core (being written; see the scheduler issue).
