//! Output order: kustomize's legacy kind order or input (fifo) order.

use std::collections::HashMap;

use gitops_core::fs::RelPath;

use crate::Error;
use crate::kustomize::gvk::{ORDER_FIRST, ORDER_LAST, sort_string};
use crate::kustomize::loader::display;
use crate::kustomize::options::Reorder;
use crate::kustomize::types::SortOptions;
use crate::resource::{Gvk, Resource};
use crate::value::Str;

/// Sort `ra` in place for output.
pub(crate) fn sort(
    ra: &mut [Resource],
    reorder: Reorder,
    options: Option<&SortOptions>,
    dir: &RelPath,
) -> Result<(), Error> {
    let (first, last): (Vec<String>, Vec<String>) = match options {
        Some(o) => match o.order.as_str() {
            "fifo" => {
                if o.order_first.is_some() || o.order_last.is_some() {
                    return Err(Error::Kustomization {
                        file: display(dir),
                        message: "the field 'sortOptions.legacySortOptions' is set but the selected sort order is 'fifo', not 'legacy'".into(),
                    });
                }
                return Ok(());
            }
            "legacy" => match (&o.order_first, &o.order_last) {
                (None, None) => (
                    ORDER_FIRST.iter().map(|s| s.to_string()).collect(),
                    ORDER_LAST.iter().map(|s| s.to_string()).collect(),
                ),
                (f, l) => (f.clone().unwrap_or_default(), l.clone().unwrap_or_default()),
            },
            _ => {
                return Err(Error::Kustomization {
                    file: display(dir),
                    message: "the field 'sortOptions.order' must be one of [fifo, legacy]".into(),
                });
            }
        },
        None => match reorder {
            Reorder::None => return Ok(()),
            Reorder::Legacy => (
                ORDER_FIRST.iter().map(|s| s.to_string()).collect(),
                ORDER_LAST.iter().map(|s| s.to_string()).collect(),
            ),
        },
    };
    let mut type_orders: HashMap<String, i64> = HashMap::new();
    let n = first.len() as i64;
    for (i, k) in first.iter().enumerate() {
        type_orders.insert(k.clone(), -n + i as i64);
    }
    for (i, k) in last.iter().enumerate() {
        type_orders.insert(k.clone(), 1 + i as i64);
    }
    // Precompute sort keys once per resource (linear), then sort. Objects
    // share a few kinds: each distinct group/version/kind is kept once.
    let mut gvks: Vec<(Gvk, String)> = Vec::new();
    let mut gvk_ids: HashMap<Gvk, usize> = HashMap::new();
    let keys: Vec<(i64, usize, Str, Str)> = ra
        .iter()
        .map(|r| {
            let id = r.cur_id();
            let order = type_orders.get(id.gvk.kind.as_str()).copied().unwrap_or(0);
            let ns = if id.namespace.is_empty() {
                Str::from("~X")
            } else {
                id.namespace.clone()
            };
            let nm = if id.name.is_empty() {
                Str::from("~N")
            } else {
                id.name.clone()
            };
            let g = *gvk_ids.entry(id.gvk.clone()).or_insert_with(|| {
                let sort = sort_string(&id.gvk);
                gvks.push((id.gvk, sort));
                gvks.len() - 1
            });
            (order, g, ns, nm)
        })
        .collect();
    drop(gvk_ids);
    let mut idx: Vec<usize> = (0..ra.len()).collect();
    idx.sort_by(|&a, &b| {
        let (oa, a_gvk, a_ns, a_name) = &keys[a];
        let (ob, b_gvk, b_ns, b_name) = &keys[b];
        if a_gvk != b_gvk {
            if oa != ob {
                return oa.cmp(ob);
            }
            let ((ga, sa), (gb, sb)) = (&gvks[*a_gvk], &gvks[*b_gvk]);
            if ga.kind == "Namespace"
                && gb.kind == "Namespace"
                && (ga.group.is_empty() || gb.group.is_empty())
            {
                return sb.cmp(sa);
            }
            return sa.cmp(sb);
        }
        // kustomize compares `Kind.version.group|namespace|name`; the kinds
        // are equal here, so the rest decides, compared as that text.
        if a_ns == b_ns {
            a_name.cmp(b_name)
        } else {
            let bar = std::iter::once(b'|');
            let a = a_ns.bytes().chain(bar.clone()).chain(a_name.bytes());
            let b = b_ns.bytes().chain(bar).chain(b_name.bytes());
            a.cmp(b)
        }
    });
    drop(keys);
    permute(ra, idx);
    Ok(())
}

/// Put `ra` in the order `idx` gives (position `k` takes the resource at
/// `idx[k]`) in place, following each cycle of the permutation with swaps.
fn permute<T>(ra: &mut [T], mut idx: Vec<usize>) {
    for start in 0..idx.len() {
        let mut k = start;
        while idx[k] != start {
            let from = idx[k];
            ra.swap(k, from);
            idx[k] = k;
            k = from;
        }
        idx[k] = k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kustomize::loader::resources_from_text;

    const MIX: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: b\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n";

    fn kinds(ra: &[Resource]) -> Vec<String> {
        ra.iter().map(|r| r.kind().to_owned()).collect()
    }

    fn opts(order: &str, first: Option<&[&str]>, last: Option<&[&str]>) -> SortOptions {
        let v = |x: Option<&[&str]>| x.map(|s| s.iter().map(|k| k.to_string()).collect());
        SortOptions {
            order: order.into(),
            order_first: v(first),
            order_last: v(last),
        }
    }

    #[test]
    fn legacy_default_and_fifo() {
        let root = RelPath::root();
        let mut ra = resources_from_text(MIX, "m.yaml").unwrap();
        sort(&mut ra, Reorder::Legacy, None, &root).unwrap();
        assert_eq!(
            kinds(&ra),
            ["Namespace", "ConfigMap", "Service", "Deployment"]
        );
        let mut ra = resources_from_text(MIX, "m.yaml").unwrap();
        // fifo in the kustomization wins over the caller's legacy order
        sort(
            &mut ra,
            Reorder::Legacy,
            Some(&opts("fifo", None, None)),
            &root,
        )
        .unwrap();
        assert_eq!(
            kinds(&ra),
            ["Deployment", "Service", "Namespace", "ConfigMap"]
        );
    }

    #[test]
    fn legacy_custom_first_and_last() {
        let root = RelPath::root();
        let mut ra = resources_from_text(MIX, "m.yaml").unwrap();
        let o = opts("legacy", Some(&["Service"]), Some(&["Namespace"]));
        sort(&mut ra, Reorder::None, Some(&o), &root).unwrap();
        // as kubectl: other kinds sort by group (core last), then kind
        assert_eq!(
            kinds(&ra),
            ["Service", "Deployment", "ConfigMap", "Namespace"]
        );
    }

    #[test]
    fn invalid_sort_options() {
        let root = RelPath::root();
        let mut ra = resources_from_text(MIX, "m.yaml").unwrap();
        let e = sort(
            &mut ra,
            Reorder::None,
            Some(&opts("fifo", Some(&[]), None)),
            &root,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("'sortOptions.legacySortOptions' is set"),
            "{e}"
        );
        let e = sort(&mut ra, Reorder::None, Some(&opts("", None, None)), &root).unwrap_err();
        assert!(
            e.to_string().contains("must be one of [fifo, legacy]"),
            "{e}"
        );
    }

    #[test]
    fn permute_in_place() {
        let mut v = vec!['a', 'b', 'c', 'd', 'e'];
        super::permute(&mut v, vec![3, 0, 4, 1, 2]);
        assert_eq!(v, ['d', 'a', 'e', 'b', 'c']);
        let mut v = vec![1, 2, 3];
        super::permute(&mut v, vec![0, 1, 2]);
        assert_eq!(v, [1, 2, 3]);
        let mut v = vec![1, 2, 3, 4];
        super::permute(&mut v, vec![1, 0, 3, 2]);
        assert_eq!(v, [2, 1, 4, 3]);
    }
}
