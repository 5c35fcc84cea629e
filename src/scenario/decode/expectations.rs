//! Decoding expectations (`expect` items) and their `inOrder` steps.

use super::super::model::{Expectation, OrderItem};
use super::super::tree::{Node, Scalar};
use super::Decoder;

const EXPECT_KEYS: &[&str] = &[
    "name", "stub", "request", "never", "inOrder", "times", "atLeast", "atMost",
];
const ORDER_ITEM_KEYS: &[&str] = &["stub", "request"];

impl Decoder<'_> {
    pub(super) fn expectation(&mut self, node: &Node) -> Option<Expectation> {
        let mut f = self.fields(node, "an expectation")?;
        let mut e = Expectation::default();
        if let Some(n) = f.take("name") {
            e.name = self.string(n, "name");
        }
        if let Some(n) = f.take("stub") {
            e.stub = self.string(n, "stub");
        }
        if let Some(n) = f.take("request") {
            e.request = self.request(n);
        }
        if let Some(n) = f.take("never") {
            e.never = self.request(n);
        }
        if let Some(n) = f.take("inOrder") {
            for item in self.seq(n, "inOrder") {
                // Kept (even when broken) so the step count and indices stay right.
                e.in_order.push(self.order_item(item).unwrap_or_default());
            }
        }
        for (key, slot) in [
            ("times", &mut e.times),
            ("atLeast", &mut e.at_least),
            ("atMost", &mut e.at_most),
        ] {
            if let Some(n) = f.take(key) {
                *slot = self.ranged(n, key, "0 or more");
            }
        }
        f.finish(self, EXPECT_KEYS);
        Some(e)
    }

    fn order_item(&mut self, node: &Node) -> Option<OrderItem> {
        if let Some(s) = node.scalar() {
            if s == Scalar::Null {
                self.wrong_type(node, "a stub name or a mapping", "inOrder item");
                return None;
            }
            return Some(OrderItem {
                stub: self.string(node, "inOrder item"),
                request: None,
            });
        }
        let mut f = self.fields(node, "an inOrder item")?;
        let mut item = OrderItem::default();
        if let Some(n) = f.take("stub") {
            item.stub = self.string(n, "stub");
        }
        if let Some(n) = f.take("request") {
            item.request = self.request(n);
        }
        f.finish(self, ORDER_ITEM_KEYS);
        Some(item)
    }
}
