//! cirkit's quad-graph region graph for an 8×8 image (`QuadGraph((1, 8, 8))`
//! in `cirkit/templates/region_graph/algorithms/quad.py`), rebuilt: pixel
//! `(i, j)` is variable `8i + j`. Level by level the grid of regions halves
//! (8 → 4 → 2 → 1); each 2×2 block of regions `TL, TR, BL, BR` becomes
//!
//! - four pair regions with one partition each: `top = TL × TR`,
//!   `bottom = BL × BR`, `left = TL × BL`, `right = TR × BR`;
//! - the block's region with two partitions, `top × bottom` then
//!   `left × right`.
//!
//! For 8×8 that is 64 pixel regions, 105 inner regions (21 blocks with two
//! partitions, 84 pair regions with one) and 126 partitions, each splitting
//! its region's variables in two. The graph is not a tree: a region is
//! read by one partition (a pair) or two (a pixel or a block).

/// Index of a region in [`RegionGraph::regions`].
pub type RegionId = usize;

/// A set of pixels, as a bit mask over the 64 variables.
pub type Scope = u64;

/// A region: a set of variables and the ways it is split.
#[derive(Clone, Debug)]
pub struct Region {
    /// Its variables.
    pub scope: Scope,
    /// Each partition: the two regions it multiplies, in order. Empty for a
    /// pixel (an input region).
    pub partitions: Vec<[RegionId; 2]>,
    /// For a pixel, its variable.
    pub pixel: Option<usize>,
}

/// The region graph: regions in topological order (every region after the
/// regions its partitions read), the root last.
pub struct RegionGraph {
    /// The regions.
    pub regions: Vec<Region>,
}

impl RegionGraph {
    /// The quad graph of an image of `height × width` pixels.
    pub fn quad_graph(height: usize, width: usize) -> Self {
        assert!(height * width <= 64, "scopes are 64-bit masks");
        let mut regions: Vec<Region> = (0..height * width)
            .map(|v| Region {
                scope: 1 << v,
                partitions: Vec::new(),
                pixel: Some(v),
            })
            .collect();
        let mut grid: Vec<Vec<Option<RegionId>>> = (0..height)
            .map(|i| (0..width).map(|j| Some(i * width + j)).collect())
            .collect();
        let (mut h, mut w) = (height, width);
        let merge = |regions: &mut Vec<Region>, parts: Vec<[RegionId; 2]>| -> RegionId {
            let [a, b] = parts[0];
            regions.push(Region {
                scope: regions[a].scope | regions[b].scope,
                partitions: parts,
                pixel: None,
            });
            regions.len() - 1
        };
        while h > 1 || w > 1 {
            let (nh, nw) = (h.div_ceil(2), w.div_ceil(2));
            let mut next = vec![vec![None; nw]; nh];
            for (i, row) in next.iter_mut().enumerate() {
                for (j, cell) in row.iter_mut().enumerate() {
                    let at = |di: usize, dj: usize| {
                        grid.get(2 * i + di)
                            .and_then(|r| r.get(2 * j + dj))
                            .copied()
                            .flatten()
                    };
                    let present: Vec<RegionId> = [at(0, 0), at(0, 1), at(1, 0), at(1, 1)]
                        .into_iter()
                        .flatten()
                        .collect();
                    *cell = Some(match present.as_slice() {
                        [one] => *one,
                        [a, b] => merge(&mut regions, vec![[*a, *b]]),
                        [tl, tr, bl, br] => {
                            let top = merge(&mut regions, vec![[*tl, *tr]]);
                            let bottom = merge(&mut regions, vec![[*bl, *br]]);
                            let left = merge(&mut regions, vec![[*tl, *bl]]);
                            let right = merge(&mut regions, vec![[*tr, *br]]);
                            merge(&mut regions, vec![[top, bottom], [left, right]])
                        }
                        _ => unreachable!("a 2×2 block has 1, 2 or 4 regions"),
                    });
                }
            }
            grid = next;
            (h, w) = (nh, nw);
        }
        RegionGraph { regions }
    }

    /// The root region.
    pub fn root(&self) -> RegionId {
        self.regions.len() - 1
    }

    /// How many partitions there are.
    pub fn partitions(&self) -> usize {
        self.regions.iter().map(|r| r.partitions.len()).sum()
    }

    /// How many regions have two (or more) partitions: one mixing layer
    /// each.
    pub fn mixed(&self) -> usize {
        self.regions
            .iter()
            .filter(|r| r.partitions.len() > 1)
            .count()
    }
}
