//! The dependency graph: its cycles (refused by validation) and the order
//! nodes start in: dependencies first, otherwise file order.
//!
//! Precisely: the file is read in passes; each pass takes, in file order,
//! every node not yet taken whose dependencies have all been taken (earlier
//! in this pass or in an earlier one). So a node comes as early as file
//! order allows once its dependencies are placed: right after them if it is
//! written after them, else in the next pass. Nodes that can never be
//! placed (in or behind a dependency cycle, or depending on a name no node
//! has; validation refuses both) are left out.
//!
//! Computed without rescanning the file: Kahn's algorithm over a
//! name-to-index map gives each node its pass (the largest, over its
//! dependencies, of the dependency's pass, plus one if the dependency is
//! written after it), then the nodes are bucketed by pass, in file order.
//! Linear in nodes plus dependencies.

use std::collections::HashMap;

use super::file::LaunchFile;

/// The launch's nodes (indices into `launch.nodes`) in start order.
pub fn start_order(launch: &LaunchFile) -> Vec<usize> {
    let names: Vec<&str> = launch.nodes.iter().map(|n| n.name.value.as_str()).collect();
    let deps: Vec<Vec<&str>> = launch
        .nodes
        .iter()
        .map(|n| n.depends_on.iter().map(|d| d.value.as_str()).collect())
        .collect();
    order(&names, &deps)
}

/// Each node's dependencies as indices into `launch.nodes` (a name no node
/// has is left out: validation refuses it).
pub fn dependency_indices(launch: &LaunchFile) -> Vec<Vec<usize>> {
    let index: HashMap<&str, usize> = launch
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.value.as_str(), i))
        .collect();
    launch
        .nodes
        .iter()
        .map(|n| {
            n.depends_on
                .iter()
                .filter_map(|d| index.get(d.value.as_str()).copied())
                .collect()
        })
        .collect()
}

/// Start order of nodes named `names[i]`, node `i` depending on `deps[i]`
/// (names are unique, as validation makes them).
fn order(names: &[&str], deps: &[Vec<&str>]) -> Vec<usize> {
    let n = names.len();
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, &s)| (s, i)).collect();
    // Dependencies not placed yet (a repeated one counts each time, as it
    // is also listed each time in `dependents`); `blocked`: one names no node.
    let mut unplaced = vec![0usize; n];
    let mut blocked = vec![false; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        for d in ds {
            match index.get(d) {
                Some(&j) => {
                    unplaced[i] += 1;
                    dependents[j].push(i);
                }
                None => blocked[i] = true,
            }
        }
    }
    let mut pass = vec![0usize; n];
    let mut placed = vec![false; n];
    let mut ready: Vec<usize> = (0..n)
        .filter(|&i| unplaced[i] == 0 && !blocked[i])
        .collect();
    let mut passes = 0;
    while let Some(j) = ready.pop() {
        placed[j] = true;
        passes = passes.max(pass[j] + 1);
        for &i in &dependents[j] {
            pass[i] = pass[i].max(pass[j] + usize::from(j > i));
            unplaced[i] -= 1;
            if unplaced[i] == 0 && !blocked[i] {
                ready.push(i);
            }
        }
    }
    let mut by_pass: Vec<Vec<usize>> = vec![Vec::new(); passes];
    for i in (0..n).filter(|&i| placed[i]) {
        by_pass[pass[i]].push(i);
    }
    by_pass.concat()
}

/// A dependency cycle, as node indices, if any: the first one a depth-first
/// search from each node in file order meets. Iterative: a launch file's
/// chain of dependencies can be longer than the stack is deep.
pub fn find_cycle(file: &LaunchFile, index: &HashMap<&str, usize>) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut marks = vec![Mark::New; file.nodes.len()];
    // The open path: each node with how many of its dependencies were followed.
    let mut path: Vec<(usize, usize)> = Vec::new();
    for root in 0..file.nodes.len() {
        if marks[root] != Mark::New {
            continue;
        }
        marks[root] = Mark::Open;
        path.push((root, 0));
        while let Some(&mut (i, ref mut next)) = path.last_mut() {
            let Some(d) = file.nodes[i].depends_on.get(*next) else {
                marks[i] = Mark::Done;
                path.pop();
                continue;
            };
            *next += 1;
            let j = index[d.value.as_str()];
            match marks[j] {
                Mark::Open => {
                    let from = path.iter().position(|&(k, _)| k == j).unwrap_or(0);
                    return Some(path[from..].iter().map(|&(k, _)| k).collect());
                }
                Mark::New => {
                    marks[j] = Mark::Open;
                    path.push((j, 0));
                }
                Mark::Done => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start order as it was computed before (one rescan of the whole
    /// list per pass, cubic): the reference `order` must match exactly.
    fn reference(names: &[&str], deps: &[Vec<&str>]) -> Vec<usize> {
        let mut order: Vec<usize> = Vec::new();
        while order.len() < names.len() {
            let before = order.len();
            for (i, ds) in deps.iter().enumerate() {
                let ready = ds.iter().all(|d| order.iter().any(|&j| names[j] == *d));
                if !order.contains(&i) && ready {
                    order.push(i);
                }
            }
            if order.len() == before {
                break;
            }
        }
        order
    }

    fn run(names: &[&str], deps: &[&[&str]]) -> Vec<usize> {
        let deps: Vec<Vec<&str>> = deps.iter().map(|d| d.to_vec()).collect();
        order(names, &deps)
    }

    #[test]
    fn dependencies_first_otherwise_file_order() {
        assert_eq!(run(&["b", "a"], &[&["a"], &[]]), [1, 0]);
        // `a` waits for `c`, written after it: the next pass, after `e`
        // (which needs nothing and is taken in the first pass).
        assert_eq!(
            run(&["a", "b", "c", "e"], &[&["c"], &[], &[], &[]]),
            [1, 2, 3, 0]
        );
        // Written after its dependency: right behind it, in the same pass.
        assert_eq!(run(&["c", "a", "b"], &[&[], &["c"], &[]]), [0, 1, 2]);
        // A cycle, and what depends on it, is left out (validation refuses it).
        assert_eq!(
            run(&["x", "y", "z", "w"], &[&["y"], &["x"], &[], &["x"]]),
            [2]
        );
        assert_eq!(run(&["x", "y"], &[&["ghost"], &[]]), [1]);
        assert_eq!(run(&["x", "y"], &[&["x"], &["y", "y"]]), [] as [usize; 0]);
    }

    /// A small deterministic generator (xorshift64*): no dependency needed.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
        }
    }

    #[test]
    fn the_same_order_as_before_on_random_graphs() {
        const NAMES: [&str; 9] = ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8"];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..20_000 {
            let n = 1 + rng.below(NAMES.len());
            let names = &NAMES[..n];
            // Mostly acyclic (dependencies on later or earlier nodes alike);
            // sometimes cycles, self-dependencies, repeats and unknown names.
            let odd = round % 5 == 0;
            let deps: Vec<Vec<&str>> = (0..n)
                .map(|i| {
                    (0..rng.below(4))
                        .filter_map(|_| {
                            if odd && rng.below(8) == 0 {
                                return Some("ghost");
                            }
                            let j = rng.below(n);
                            (odd || j != i).then_some(NAMES[j])
                        })
                        .collect()
                })
                .collect();
            // Without the odd cases, keep it acyclic: depend only on nodes
            // of a random permutation that come before.
            let deps = if odd {
                deps
            } else {
                let mut rank: Vec<usize> = (0..n).collect();
                for k in (1..n).rev() {
                    rank.swap(k, rng.below(k + 1));
                }
                deps.into_iter()
                    .enumerate()
                    .map(|(i, ds)| {
                        ds.into_iter()
                            .filter(|d| rank[NAMES.iter().position(|x| x == d).unwrap()] < rank[i])
                            .collect()
                    })
                    .collect()
            };
            assert_eq!(
                order(names, &deps),
                reference(names, &deps),
                "names {names:?}, depends_on {deps:?}"
            );
        }
    }

    /// Each node depends on the next one listed: one node per pass, which
    /// took the rescanning order minutes at this size.
    #[test]
    fn a_long_chain_is_planned_in_reverse() {
        let names: Vec<String> = (0..5000).map(|i| format!("n{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let deps: Vec<Vec<&str>> = (0..names.len())
            .map(|i| names.get(i + 1).into_iter().copied().collect())
            .collect();
        let expected: Vec<usize> = (0..names.len()).rev().collect();
        assert_eq!(order(&names, &deps), expected);
    }

    /// A cycle through 20,000 nodes is found (the recursive search overflowed
    /// a test thread's stack long before that).
    #[test]
    fn a_long_cycle_is_found_without_recursion() {
        let n = 20_000;
        let mut yaml = String::from("nodes:\n");
        for i in 0..n {
            yaml.push_str(&format!(
                "  - {{name: n{i}, cmd: x, depends_on: [n{}]}}\n",
                (i + 1) % n
            ));
        }
        let file: LaunchFile = serde_saphyr::from_str(&yaml).unwrap();
        let index: HashMap<&str, usize> = file
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.value.as_str(), i))
            .collect();
        let cycle = find_cycle(&file, &index).expect("a cycle");
        assert_eq!(cycle, (0..n).collect::<Vec<_>>());
    }
}
