//! Two `wl_shm` buffers per surface in one pool, reused for every frame.
//!
//! Each buffer remembers the frame it last showed (so the renderer can say
//! what it missed) and whether the compositor still holds it (set on attach,
//! cleared by `wl_buffer.release`). A new pool is made only when the surface
//! changes size or scale.

use smithay_client_toolkit::dispatch2::Dispatch2;
use smithay_client_toolkit::shm::raw::RawPool;
use smithay_client_toolkit::shm::Shm;
use wayland_client::protocol::{wl_buffer, wl_shm};
use wayland_client::{Connection, QueueHandle};

use super::Bars;

/// The pixel layout of the shm buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// R, G, B, A bytes in memory: what tiny-skia draws, no conversion.
    Abgr8888,
    /// B, G, R, A bytes in memory: every compositor has it; we draw into a
    /// private image and convert the damaged rectangles.
    Argb8888,
}

impl Format {
    fn wl(self) -> wl_shm::Format {
        match self {
            Format::Abgr8888 => wl_shm::Format::Abgr8888,
            Format::Argb8888 => wl_shm::Format::Argb8888,
        }
    }
}

/// One of the two buffers.
pub struct Slot {
    /// The protocol object.
    pub buffer: wl_buffer::WlBuffer,
    /// Attached and not yet released by the compositor: do not draw into it.
    pub busy: bool,
    /// The renderer frame this buffer shows (0: nothing yet).
    pub shown: u64,
}

/// The pool and its two buffers, for one size and format.
pub struct Buffers {
    pool: RawPool,
    /// The two buffers.
    pub slots: [Slot; 2],
    /// Size in pixels.
    pub width: u32,
    /// Size in pixels.
    pub height: u32,
    /// Pixel layout.
    pub format: Format,
    /// The Argb8888 path's always-current RGBA image (empty for Abgr8888).
    pub private: Vec<u8>,
    /// Tells a release for these buffers from one for a pool since replaced.
    pub generation: u64,
}

/// The user data of each wl_buffer: which surface, which pool, which slot.
pub struct BufferData {
    /// The bar (surface) the buffer belongs to.
    pub bar: u64,
    /// The pool generation, to ignore releases of replaced buffers.
    pub generation: u64,
    /// Slot 0 or 1.
    pub index: usize,
}

/// Why buffers could not be made.
#[derive(Debug)]
pub struct BufferError(pub String);

impl Buffers {
    /// A pool of two `width` × `height` buffers in `format`.
    pub fn new(
        shm: &Shm,
        qh: &QueueHandle<Bars>,
        bar: u64,
        generation: u64,
        width: u32,
        height: u32,
        format: Format,
    ) -> Result<Buffers, BufferError> {
        let stride = width as usize * 4;
        let size = stride * height as usize;
        if size == 0 || size > i32::MAX as usize / 2 {
            return Err(BufferError(format!(
                "a {width}×{height} buffer is not drawable"
            )));
        }
        let mut pool = RawPool::new(size * 2, shm)
            .map_err(|e| BufferError(format!("creating the shared-memory pool: {e}")))?;
        let mut make = |index: usize| Slot {
            buffer: pool.create_buffer(
                (index * size) as i32,
                width as i32,
                height as i32,
                stride as i32,
                format.wl(),
                BufferData {
                    bar,
                    generation,
                    index,
                },
                qh,
            ),
            busy: false,
            shown: 0,
        };
        let slots = [make(0), make(1)];
        let private = match format {
            Format::Abgr8888 => Vec::new(),
            Format::Argb8888 => vec![0; size],
        };
        Ok(Buffers {
            pool,
            slots,
            width,
            height,
            format,
            private,
            generation,
        })
    }

    /// The free buffer to draw into: of the ones the compositor is not
    /// holding, the one showing the newest frame (least to repaint).
    pub fn pick(&self) -> Option<usize> {
        (0..2)
            .filter(|&i| !self.slots[i].busy)
            .max_by_key(|&i| self.slots[i].shown)
    }

    /// The bytes of slot `i`.
    pub fn canvas(&mut self, i: usize) -> &mut [u8] {
        let size = self.width as usize * 4 * self.height as usize;
        &mut self.pool.mmap()[i * size..(i + 1) * size]
    }

    /// The ARGB path's private image and slot `i`'s bytes, both at once.
    pub fn private_and_canvas(&mut self, i: usize) -> (&mut [u8], &mut [u8]) {
        let size = self.width as usize * 4 * self.height as usize;
        let mem = &mut self.pool.mmap()[i * size..(i + 1) * size];
        (&mut self.private, mem)
    }
}

impl Drop for Buffers {
    fn drop(&mut self) {
        // The wl_buffers are ours to destroy; the pool destroys itself. A
        // buffer the compositor still shows stays valid on its side: for shm it
        // keeps its own mapping until it lets go.
        for s in &self.slots {
            s.buffer.destroy();
        }
    }
}

impl Dispatch2<wl_buffer::WlBuffer, Bars> for BufferData {
    fn event(
        &self,
        state: &mut Bars,
        _: &wl_buffer::WlBuffer,
        event: wl_buffer::Event,
        _: &Connection,
        _: &QueueHandle<Bars>,
    ) {
        if let wl_buffer::Event::Release = event {
            state.buffer_released(self.bar, self.generation, self.index);
        }
    }
}
