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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access_log::{Head, Id, Text};

    fn record(status: u16) -> Record {
        Record {
            arrived: std::time::Instant::now(),
            client: [127, 0, 0, 1].into(),
            listener: Default::default(),
            head: Head {
                method: http::Method::GET,
                version: "HTTP/1.1",
                target: Text::Owned("/".into()),
                host: None,
                forwarded_for: None,
                user_agent: None,
                referer: None,
            },
            request_id: Id::Random(0),
            route: None,
            member: None,
            status,
            bytes_in: 0,
            bytes_out: 0,
            retries: 0,
            queue: None,
            connect: None,
            first_byte: None,
            total: std::time::Duration::ZERO,
            termination: "",
        }
    }

    #[test]
    fn a_written_record_box_is_reused_for_the_next_request_on_the_thread_it_reaches() {
        let written = Box::new(record(200));
        let at = std::ptr::from_ref::<Record>(&written) as usize;
        restock(&mut vec![written]);
        let next = boxed(record(404));
        assert_eq!(std::ptr::from_ref::<Record>(&next) as usize, at);
        assert_eq!(next.status, 404, "the old record is overwritten");
        // The stock is empty again: a new box.
        let fresh = boxed(record(500));
        assert_ne!(std::ptr::from_ref::<Record>(&fresh) as usize, at);
    }

    #[test]
    fn the_writer_hands_back_at_most_keep_records_and_frees_the_rest() {
        let mut returned = Stock::new();
        let mut written: Stock = (0..KEEP + 10).map(|_| Box::new(record(200))).collect();
        give_back(&mut written, &mut returned);
        assert_eq!((written.len(), returned.len()), (0, KEEP));
        returned.truncate(KEEP - 3);
        let mut written: Stock = (0..5).map(|_| Box::new(record(200))).collect();
        give_back(&mut written, &mut returned);
        assert_eq!((written.len(), returned.len()), (0, KEEP));
    }
}
