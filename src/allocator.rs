//! The binary's allocator: mimalloc, reached by the shortest call each layout allows.
//!
//! Kept in its own file so the benchmarks that time the binary's work (`reload_bench`) can use
//! the same allocator.

use std::alloc::{GlobalAlloc, Layout};

// mimalloc: reloading a large scenario set allocates and frees hundreds of thousands of small
// objects; it is about twice as fast there as the system allocator (`examples/reload_bench.rs`).
// It keeps freed pages for reuse, so after a load the binary asks it to return them
// (`release_free_memory` in `main.rs`).

/// mimalloc, asked for plain blocks when the alignment is one every block has anyway
/// (`mi_malloc` takes a shorter path than `mi_malloc_aligned`, which the `mimalloc` crate
/// always calls), and for aligned ones otherwise.
pub struct Allocator;

/// The alignment every mimalloc block of at least that size has (`MI_MAX_ALIGN_SIZE`).
const PLAIN_ALIGN: usize = 16;

#[allow(unsafe_code)]
// SAFETY: every block comes from mimalloc and goes back to it: `mi_malloc`/`mi_realloc` give
// blocks aligned to 16 bytes when the size is at least that, so they are used only when the
// layout asks for no more (and for no more than the size); any other layout takes the
// `_aligned` calls. `mi_free` frees blocks from either.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= PLAIN_ALIGN && layout.align() <= layout.size() {
            // SAFETY: as above; the size is not zero (the alignment is at least 1).
            unsafe { libmimalloc_sys::mi_malloc(layout.size()).cast() }
        } else {
            // SAFETY: the alignment is a power of two (a `Layout` invariant).
            unsafe { libmimalloc_sys::mi_malloc_aligned(layout.size(), layout.align()).cast() }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= PLAIN_ALIGN && layout.align() <= layout.size() {
            // SAFETY: as in `alloc`.
            unsafe { libmimalloc_sys::mi_zalloc(layout.size()).cast() }
        } else {
            // SAFETY: as in `alloc`.
            unsafe { libmimalloc_sys::mi_zalloc_aligned(layout.size(), layout.align()).cast() }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator, so from mimalloc.
        unsafe { libmimalloc_sys::mi_free(ptr.cast()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= PLAIN_ALIGN && layout.align() <= new_size {
            // SAFETY: `ptr` came from mimalloc; the new block keeps the alignment (as in
            // `alloc`).
            unsafe { libmimalloc_sys::mi_realloc(ptr.cast(), new_size).cast() }
        } else {
            // SAFETY: as above, with the alignment asked for explicitly.
            unsafe {
                libmimalloc_sys::mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
            }
        }
    }
}
