//! Record boxes go back to the workers. A box allocated on a worker and freed on the writer
//! thread costs the allocator a cross-thread free (and the worker a page collection later),
//! about as much as formatting the line; so the writer hands written records back through
//! the queue, a worker takes them all when its own stock is empty, and each request
//! overwrites one (the old record's texts are dropped on the worker, which made them).

#![allow(clippy::vec_box, reason = "the boxes are what is recycled")]

use std::cell::RefCell;

use super::Record;

/// Written records, boxed (the boxes are what goes round).
pub(super) type Stock = Vec<Box<Record>>;

/// Written records kept for the workers at most; more are freed by the writer.
pub(super) const KEEP: usize = 2 * super::BATCH;

thread_local! {
    /// This thread's stock of written records.
    static STOCK: RefCell<Stock> = const { RefCell::new(Vec::new()) };
}

/// `r` in a box: one of this thread's written records when it has one, else a new box.
pub fn boxed(r: Record) -> Box<Record> {
    match STOCK.try_with(|s| s.borrow_mut().pop()).ok().flatten() {
        Some(mut b) => {
            *b = r;
            b
        }
        None => Box::new(r),
    }
}

/// Moves `returned` (written records) into this thread's stock when the stock is empty.
pub(super) fn restock(returned: &mut Stock) {
    let _ = STOCK.try_with(|s| {
        let mut s = s.borrow_mut();
        if s.is_empty() {
            std::mem::swap(&mut *s, returned);
        }
    });
}

/// Hands the writer's `written` records to the queue's `returned`, up to [`KEEP`]; the rest
/// are freed here.
pub(super) fn give_back(written: &mut Stock, returned: &mut Stock) {
    if returned.is_empty() {
        std::mem::swap(written, returned);
    } else {
        let room = KEEP.saturating_sub(returned.len()).min(written.len());
        returned.extend(written.drain(..room));
    }
    written.truncate(0);
    returned.truncate(KEEP);
}
