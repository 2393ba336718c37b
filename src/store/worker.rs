//! A store on a thread of its own. The engine's actors share one thread with every request on
//! the wire; a commit that waits for the disk (an fsync) there would stall them all. Calls run
//! in the order they were made, one at a time, and each answers through a future.

use std::future::Future;
use std::sync::mpsc;
use std::thread;

use tokio::sync::oneshot;

use super::{Store, StoreError};

type Work = Box<dyn FnOnce(&mut dyn Store) + Send>;

enum Task {
    Work(Work),
    /// Ends the thread after the calls made before, handing the store back.
    HandBack(oneshot::Sender<Box<dyn Store>>),
}

pub struct StoreThread {
    tasks: Option<mpsc::Sender<Task>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl StoreThread {
    /// Moves `store` onto a new thread, where it stays until this handle is dropped.
    pub fn spawn(store: Box<dyn Store>) -> Result<Self, StoreError> {
        let (tasks, queue) = mpsc::channel::<Task>();
        let thread = thread::Builder::new()
            .name("bulkops-store".into())
            .spawn(move || {
                let mut store = store;
                for task in queue {
                    match task {
                        Task::Work(work) => work(store.as_mut()),
                        Task::HandBack(to) => {
                            // A caller that is gone lets the store close here.
                            let _ = to.send(store);
                            return;
                        }
                    }
                }
            })
            .map_err(|e| StoreError::Unavailable {
                reason: format!("cannot start its thread: {e}"),
            })?;
        Ok(StoreThread {
            tasks: Some(tasks),
            thread: Some(thread),
        })
    }

    /// Runs `work` on the store's thread, after every call made before it.
    pub fn call<T, F>(&self, work: F) -> impl Future<Output = Result<T, StoreError>> + 'static
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let task = Task::Work(Box::new(move |store| {
            // The caller may have gone (its actor stopped): the work is done all the same.
            let _ = answer.send(work(store));
        }));
        if let Some(tasks) = &self.tasks {
            // A thread that is gone drops the task, and with it `answer`: `answered` says so.
            let _ = tasks.send(task);
        }
        async move {
            answered.await.map_err(|_| StoreError::Unavailable {
                reason: "its thread stopped".into(),
            })?
        }
    }

    /// The store back, once every call made before this one has run; calls made after it fail
    /// with `StoreError::Unavailable`.
    pub fn hand_back(&self) -> impl Future<Output = Result<Box<dyn Store>, StoreError>> + 'static {
        let (to, handed) = oneshot::channel();
        if let Some(tasks) = &self.tasks {
            let _ = tasks.send(Task::HandBack(to));
        }
        async move {
            handed.await.map_err(|_| StoreError::Unavailable {
                reason: "its thread stopped before handing the store back".into(),
            })
        }
    }
}

impl Drop for StoreThread {
    /// Lets the calls already made finish, then closes the store.
    fn drop(&mut self) {
        self.tasks.take();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the store's thread panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    #[test]
    fn calls_run_off_the_calling_thread_in_the_order_they_were_made() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
        let worker = StoreThread::spawn(Box::new(store)).unwrap();
        let caller = thread::current().id();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (first, second, elsewhere) = runtime.block_on(async {
            let first = worker.call(|store| {
                store.put_manifest("d", &["a".to_string(), "b".to_string()])?;
                Ok(thread::current().id())
            });
            // Made second, so it sees what the first one wrote, whichever is awaited first.
            let second = worker.call(|store| store.manifest("d"));
            let second = second.await.unwrap();
            (first.await.unwrap(), second, thread::current().id())
        });
        assert_ne!(first, caller, "the store ran on the caller's thread");
        assert_eq!(elsewhere, caller);
        assert_eq!(second, ["a", "b"]);
    }

    #[test]
    fn the_store_comes_back_after_the_calls_made_before_and_later_calls_fail() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
        let worker = StoreThread::spawn(Box::new(store)).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (back, late) = runtime.block_on(async {
            let written = worker.call(|store| store.put_manifest("d", &["a".to_string()]));
            let back = worker.hand_back();
            let late = worker.call(|store| store.manifest("d"));
            written.await.unwrap();
            (back.await.unwrap(), late.await)
        });
        assert_eq!(back.manifest("d").unwrap(), ["a"]);
        assert!(
            matches!(late, Err(StoreError::Unavailable { .. })),
            "{late:?}"
        );
        drop(worker);
    }

    #[test]
    fn a_failure_comes_back_as_the_store_error_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = SqliteStore::open(&path).unwrap();
        let worker = StoreThread::spawn(Box::new(store)).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        let error = runtime
            .block_on(worker.call(|store| store.check_in_place()))
            .unwrap_err();
        assert!(matches!(error, StoreError::Replaced { .. }), "{error}");
    }
}
