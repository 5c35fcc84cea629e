//! Hot reload: watch the scenario files, and swap in the new set when they change.
//!
//! The watcher follows the scenario *directories* (recursively) and, for files given directly,
//! their parent directories: editors that save by writing a temporary file and renaming it over
//! the original replace the file's inode, which a watch on the file itself would lose. The
//! parent of every watched directory is watched too (not recursively), so a directory that is
//! deleted and created again (a branch switch, a script regenerating it) is noticed and watched
//! again before the next reload reads it. Events
//! are coalesced into one pending reload and debounced (a save often produces several events);
//! the whole set is then loaded and compiled on a blocking thread and swapped in only if every
//! file is valid ([`Engine::reload_scenarios`], which keeps hit counters and scenario states of
//! what survives). On failure the last good set keeps serving; every problem is logged as
//! `path:line:col: message` and published in [`Engine::reload_status`] until a reload succeeds.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use notify::{Event, EventKind, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::scenario::load::{LoadCache, load_paths_cached};
use crate::scenario::{LoadError, Problem, Summary};

/// The default quiet period before a reload.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(200);

/// Why watching could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The platform's file watcher could not be created.
    #[error("cannot create a file watcher: {0}")]
    Create(#[source] notify::Error),
    /// A path could not be watched.
    #[error("cannot watch {path}: {source}")]
    Watch {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: notify::Error,
    },
}

/// What to watch and how.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// The scenario files and directories, as given to the loader.
    pub paths: Vec<PathBuf>,
    /// Quiet period after the last change before reloading.
    pub debounce: Duration,
}

/// Loads the scenario paths again on a blocking thread and swaps the set in if it is valid;
/// records the outcome in the engine's reload status and logs it.
///
/// # Errors
/// Every problem of the new files; the engine keeps serving its current set.
pub async fn reload(engine: &Arc<Engine>, paths: &[PathBuf]) -> Result<Summary, LoadError> {
    reload_cached(engine, paths, &mut LoadCache::default()).await
}

/// [`reload`], re-reading only the files whose text changed since the last call with `cache`
/// (the whole set is still compiled, checked and swapped).
///
/// # Errors
/// Every problem of the new files; the engine keeps serving its current set.
pub async fn reload_cached(
    engine: &Arc<Engine>,
    paths: &[PathBuf],
    cache: &mut LoadCache,
) -> Result<Summary, LoadError> {
    let started = Instant::now();
    let (worker_engine, owned, mut worker_cache) =
        (engine.clone(), paths.to_vec(), std::mem::take(cache));
    let joined = tokio::task::spawn_blocking(move || {
        let result = load_paths_cached(&owned, &mut worker_cache).map(|set| {
            let summary = set.summary();
            let old = worker_engine.swap_scenarios(set);
            let took = started.elapsed();
            // Freed here, off the request threads (unless a request still holds it).
            drop(old);
            crate::scenario::memory::release_after_load();
            (summary, took)
        });
        (result, worker_cache)
    })
    .await;
    let loaded = match joined {
        Ok((result, worker_cache)) => {
            *cache = worker_cache;
            result
        }
        Err(e) => Err(LoadError {
            problems: vec![Problem {
                file: String::new(),
                pos: None,
                message: format!("the reload task failed: {e}"),
            }],
        }),
    };
    let now = engine.clock().now();
    match loaded {
        Ok((summary, took)) => {
            engine.reload_status().record_success(now, took);
            tracing::info!(
                target: "gigya_mock::reload",
                "reloaded {summary} in {} ms",
                took.as_millis()
            );
            Ok(summary)
        }
        Err(e) => {
            for p in &e.problems {
                tracing::error!(target: "gigya_mock::reload", "{p}");
            }
            tracing::warn!(
                target: "gigya_mock::reload",
                "reload failed with {} problem(s); still serving the last good scenarios",
                e.problems.len()
            );
            engine
                .reload_status()
                .record_failure(now, e.problems.iter().map(ToString::to_string).collect());
            Err(e)
        }
    }
}

/// One watched location.
#[derive(Debug, Clone)]
struct Target {
    /// The directory handed to the OS watcher.
    dir: PathBuf,
    /// For a file given directly: its name (only events for it count).
    file: Option<std::ffi::OsString>,
}

impl Target {
    fn wants(&self, path: &Path) -> bool {
        if ignored_name(path) {
            return false;
        }
        if path == self.dir {
            // The directory itself appearing or going away.
            return true;
        }
        match &self.file {
            None => path.starts_with(&self.dir),
            Some(name) => path.parent() == Some(&*self.dir) && path.file_name() == Some(name),
        }
    }
}

/// A directory handed to the OS watcher.
#[derive(Debug)]
struct Root {
    dir: PathBuf,
    mode: RecursiveMode,
    /// Which directory it was when it was watched (`None`: it did not exist).
    id: Option<DirId>,
    /// Set by the watcher when the directory itself was created, removed or renamed.
    replaced: Arc<AtomicBool>,
}

/// Tells one directory from another created later at the same path, unless the file system
/// hands the new one the old inode (ext4 does, at once); the watcher's events cover that.
type DirId = (u64, u64);

#[cfg(unix)]
fn dir_id(path: &Path) -> Option<DirId> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(path)
        .ok()
        .filter(std::fs::Metadata::is_dir)?;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn dir_id(path: &Path) -> Option<DirId> {
    std::fs::metadata(path)
        .ok()
        .filter(std::fs::Metadata::is_dir)
        .map(|_| (0, 0))
}

/// Flags every root that `event` creates, removes or renames (the watch on a directory goes
/// away with it). An event without paths (the OS queue overflowed) flags them all.
fn flag_replaced_roots(event: &Event, flags: &[(PathBuf, Arc<AtomicBool>)]) {
    let structural = matches!(
        event.kind,
        EventKind::Create(_)
            | EventKind::Remove(_)
            | EventKind::Modify(notify::event::ModifyKind::Name(_))
            | EventKind::Other
            | EventKind::Any
    );
    if !structural {
        return;
    }
    for (dir, flag) in flags {
        if event.paths.is_empty() || event.paths.iter().any(|p| p == dir) {
            flag.store(true, Ordering::Relaxed);
        }
    }
}

/// Watches again every root that was replaced since it was watched. A root that does not
/// exist, or cannot be watched yet, is tried again at the next reload.
fn rewatch(watcher: &mut impl notify::Watcher, roots: &mut [Root]) {
    for root in roots {
        let now = dir_id(&root.dir);
        let replaced = root.replaced.swap(false, Ordering::Relaxed);
        if !replaced && now == root.id {
            continue;
        }
        root.id = now;
        if now.is_none() {
            // Gone: its parent's watch tells when it is back.
            continue;
        }
        let _ = watcher.unwatch(&root.dir);
        match watcher.watch(&root.dir, root.mode) {
            Ok(()) => tracing::info!(
                target: "gigya_mock::reload",
                "{} was replaced; watching the new one",
                root.dir.display()
            ),
            Err(e) => {
                tracing::warn!(
                    target: "gigya_mock::reload",
                    "cannot watch {} again: {e}",
                    root.dir.display()
                );
                root.id = None;
            }
        }
    }
}

/// Editor scratch files: hidden files, backups, swap files, vim's write test.
fn ignored_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name.starts_with('.')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name == "4913"
}

fn interesting(event: &Event, targets: &[Target]) -> bool {
    if matches!(event.kind, EventKind::Access(_)) {
        // Our own reads of the files produce these.
        return false;
    }
    event.paths.is_empty()
        || event
            .paths
            .iter()
            .any(|p| targets.iter().any(|t| t.wants(p)))
}

/// Starts watching; reloads run on the returned task until `token` is cancelled.
///
/// # Errors
/// The watcher cannot be created or a path cannot be watched.
pub fn watch(
    engine: Arc<Engine>,
    config: WatchConfig,
    token: CancellationToken,
) -> Result<JoinHandle<()>, WatchError> {
    let mut targets = Vec::new();
    for p in &config.paths {
        let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        if abs.is_dir() {
            targets.push((
                Target {
                    dir: abs,
                    file: None,
                },
                RecursiveMode::Recursive,
            ));
        } else {
            let dir = abs
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            targets.push((
                Target {
                    dir,
                    file: abs.file_name().map(ToOwned::to_owned),
                },
                RecursiveMode::NonRecursive,
            ));
        }
    }
    // The directories handed to the OS watcher, each once (a recursive watch covers a plain one).
    let mut roots: Vec<Root> = Vec::new();
    for (t, mode) in &targets {
        if let Some(r) = roots.iter_mut().find(|r| r.dir == t.dir) {
            if *mode == RecursiveMode::Recursive {
                r.mode = RecursiveMode::Recursive;
            }
            continue;
        }
        roots.push(Root {
            dir: t.dir.clone(),
            mode: *mode,
            id: dir_id(&t.dir),
            replaced: Arc::new(AtomicBool::new(false)),
        });
    }
    // One pending reload is enough: later events while it waits are coalesced into it.
    let (tx, rx) = mpsc::channel::<()>(1);
    let filter: Vec<Target> = targets.iter().map(|(t, _)| t.clone()).collect();
    let flags: Vec<(PathBuf, Arc<AtomicBool>)> = roots
        .iter()
        .map(|r| (r.dir.clone(), r.replaced.clone()))
        .collect();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<Event>| match res {
        Ok(event) => {
            // Flagged before the reload is asked for, so the reload sees the flag.
            flag_replaced_roots(&event, &flags);
            if interesting(&event, &filter) {
                let _ = tx.try_send(());
            }
        }
        Err(e) => {
            tracing::warn!(target: "gigya_mock::reload", "file watcher: {e}; reloading to be safe");
            for (_, flag) in &flags {
                flag.store(true, Ordering::Relaxed);
            }
            let _ = tx.try_send(());
        }
    })
    .map_err(WatchError::Create)?;
    for root in &roots {
        watcher
            .watch(&root.dir, root.mode)
            .map_err(|source| WatchError::Watch {
                path: root.dir.clone(),
                source,
            })?;
    }
    // The parents tell when a watched directory is created again. Best effort: without them
    // (a root directory, no permission) only the recreation goes unnoticed.
    let mut guarded: Vec<&Path> = Vec::new();
    for parent in roots.iter().filter_map(|r| r.dir.parent()) {
        if guarded.contains(&parent) || roots.iter().any(|r| r.dir == parent) {
            continue;
        }
        if let Err(e) = watcher.watch(parent, RecursiveMode::NonRecursive) {
            tracing::debug!(
                target: "gigya_mock::reload",
                "cannot watch {} for re-created directories: {e}",
                parent.display()
            );
        }
        guarded.push(parent);
    }
    engine.reload_status().set_watching(true);
    let task = tokio::spawn(run(engine, config, rx, token, watcher, roots));
    Ok(task)
}

async fn run(
    engine: Arc<Engine>,
    config: WatchConfig,
    mut rx: mpsc::Receiver<()>,
    token: CancellationToken,
    mut watcher: notify::RecommendedWatcher,
    mut roots: Vec<Root>,
) {
    // Decode the files once up front, so the first edit already reloads only what changed.
    let mut cache = {
        let paths = config.paths.clone();
        tokio::task::spawn_blocking(move || {
            let mut cache = LoadCache::default();
            let _ = load_paths_cached(&paths, &mut cache);
            // The set compiled here is dropped at once; hand its pages back.
            crate::scenario::memory::release_after_load();
            cache
        })
        .await
        .unwrap_or_default()
    };
    loop {
        tokio::select! {
            () = token.cancelled() => break,
            ev = rx.recv() => if ev.is_none() { break },
        }
        // Wait until the files have been quiet for the debounce period.
        loop {
            tokio::select! {
                () = token.cancelled() => {
                    engine.reload_status().set_watching(false);
                    return;
                }
                () = tokio::time::sleep(config.debounce) => break,
                ev = rx.recv() => if ev.is_none() { break },
            }
        }
        // Watch a re-created directory before reading it, so no edit falls in between.
        rewatch(&mut watcher, &mut roots);
        let _ = reload_cached(&engine, &config.paths, &mut cache).await;
    }
    engine.reload_status().set_watching(false);
    drop(watcher);
}

#[cfg(test)]
mod tests {
    use super::*;

    static HOOK_RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    fn count_hook() {
        HOOK_RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    #[tokio::test]
    async fn a_successful_reload_hands_freed_memory_back() {
        crate::scenario::memory::set_release_hook(count_hook);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(
            &path,
            "version: 1\nstubs:\n  - request: { method: m }\n    response: {}\n",
        )
        .unwrap();
        let engine = Arc::new(Engine::new(
            crate::scenario::ScenarioSet::default(),
            crate::engine::EngineConfig::default(),
        ));
        let before = HOOK_RUNS.load(std::sync::atomic::Ordering::SeqCst);
        reload(&engine, std::slice::from_ref(&path)).await.unwrap();
        assert!(HOOK_RUNS.load(std::sync::atomic::Ordering::SeqCst) > before);
        // A failed reload swaps nothing and frees nothing worth returning.
        std::fs::write(&path, "version: 1\nstubs: [{}]\n").unwrap();
        let before = HOOK_RUNS.load(std::sync::atomic::Ordering::SeqCst);
        assert!(reload(&engine, std::slice::from_ref(&path)).await.is_err());
        assert_eq!(HOOK_RUNS.load(std::sync::atomic::Ordering::SeqCst), before);
    }

    #[test]
    fn only_structural_events_on_a_root_itself_flag_it_replaced() {
        let flags = [
            (PathBuf::from("/s"), Arc::new(AtomicBool::new(false))),
            (PathBuf::from("/f"), Arc::new(AtomicBool::new(false))),
        ];
        let raised = || {
            flags
                .iter()
                .map(|(_, f)| f.swap(false, Ordering::Relaxed))
                .collect::<Vec<_>>()
        };
        let ev = |kind, paths: &[&str]| {
            paths
                .iter()
                .fold(Event::new(kind), |e, p| e.add_path(PathBuf::from(p)))
        };
        let data = EventKind::Modify(notify::event::ModifyKind::Data(
            notify::event::DataChange::Any,
        ));
        let open = EventKind::Access(notify::event::AccessKind::Any);
        let create = EventKind::Create(notify::event::CreateKind::Folder);
        let remove = EventKind::Remove(notify::event::RemoveKind::Folder);
        let renamed = EventKind::Modify(notify::event::ModifyKind::Name(
            notify::event::RenameMode::Both,
        ));
        flag_replaced_roots(&ev(data, &["/s"]), &flags);
        flag_replaced_roots(&ev(open, &["/s"]), &flags);
        flag_replaced_roots(&ev(create, &["/s/new"]), &flags);
        assert_eq!(raised(), [false, false], "edits, reads and children do not");
        flag_replaced_roots(&ev(remove, &["/s"]), &flags);
        assert_eq!(raised(), [true, false]);
        flag_replaced_roots(&ev(create, &["/f"]), &flags);
        assert_eq!(raised(), [false, true]);
        flag_replaced_roots(&ev(renamed, &["/s.new", "/s"]), &flags);
        assert_eq!(raised(), [true, false]);
        flag_replaced_roots(&ev(EventKind::Other, &[]), &flags);
        assert_eq!(raised(), [true, true], "an overflow flags every root");
    }

    #[test]
    fn scratch_files_and_reads_do_not_trigger_reloads() {
        let dir = Target {
            dir: PathBuf::from("/s"),
            file: None,
        };
        let file = Target {
            dir: PathBuf::from("/f"),
            file: Some("one.yaml".into()),
        };
        let targets = [dir, file];
        let ev = |kind, p: &str| Event::new(kind).add_path(PathBuf::from(p));
        let modify = EventKind::Modify(notify::event::ModifyKind::Any);
        assert!(interesting(&ev(modify, "/s/a.yaml"), &targets));
        assert!(interesting(&ev(modify, "/s/new/dir"), &targets));
        assert!(interesting(&ev(modify, "/f/one.yaml"), &targets));
        assert!(!interesting(&ev(modify, "/f/other.yaml"), &targets));
        assert!(!interesting(&ev(modify, "/s/.a.yaml.swp"), &targets));
        assert!(!interesting(&ev(modify, "/s/a.yaml~"), &targets));
        assert!(!interesting(&ev(modify, "/s/4913"), &targets));
        assert!(!interesting(&ev(modify, "/elsewhere/a.yaml"), &targets));
        // A watched directory itself (seen through its parent) counts for both kinds.
        let create = EventKind::Create(notify::event::CreateKind::Folder);
        assert!(interesting(&ev(create, "/s"), &targets));
        assert!(interesting(&ev(create, "/f"), &targets));
        assert!(!interesting(&ev(create, "/other"), &targets));
        let read = EventKind::Access(notify::event::AccessKind::Any);
        assert!(!interesting(&ev(read, "/s/a.yaml"), &targets));
    }
}
