//! The compositor side: one layer-shell surface per output, two reused shm
//! buffers each, frame callbacks, output scale. Knows segments and pixels
//! (through [`crate::render`]), never what a CPU is.

pub mod buffers;
pub mod fractional;
pub mod idle;
// Context menus (the tray's) in popups of their own.
pub mod menu;
// The pointer over the bars, and the hover popup.
pub mod pointer;
pub mod popup;

use smithay_client_toolkit::compositor::{CompositorHandler, CompositorState, FrameCallbackData};
use smithay_client_toolkit::output::{OutputHandler, OutputState};
use smithay_client_toolkit::registry::{ProvidesRegistryState, RegistryState};
use smithay_client_toolkit::seat::SeatState;
use smithay_client_toolkit::shell::wlr_layer::{
    Anchor, KeyboardInteractivity, Layer, LayerShell, LayerShellHandler, LayerSurface,
    LayerSurfaceConfigure,
};
use smithay_client_toolkit::shell::WaylandSurface;
use smithay_client_toolkit::shm::{Shm, ShmHandler};
use smithay_client_toolkit::{delegate_dispatch2, delegate_registry, registry_handlers};
use wayland_client::globals::registry_queue_init;
use wayland_client::protocol::{wl_output, wl_shm, wl_surface};
use wayland_client::{Connection, EventQueue, QueueHandle};

use crate::render::popup::PopupLook;
use crate::render::{Canvas, GlyphCache, Look, OutputTag, Rect, Renderer, Segment, MAX_SEGMENTS};
use buffers::{Buffers, Format};
use fractional::{FractionalGlobals, SurfaceScaling};

/// Which screen edge the bar sits on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Edge {
    /// Along the top of each output.
    #[default]
    Top,
    /// Along the bottom.
    Bottom,
}

/// The layer-shell layer the bars live in (what they stack above/below).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stacking {
    /// Under everything, with the wallpaper.
    Background,
    /// Under windows.
    Bottom,
    /// Over windows, under fullscreen ones.
    #[default]
    Top,
    /// Over everything.
    Overlay,
}

impl Stacking {
    fn layer(self) -> Layer {
        match self {
            Stacking::Background => Layer::Background,
            Stacking::Bottom => Layer::Bottom,
            Stacking::Top => Layer::Top,
            Stacking::Overlay => Layer::Overlay,
        }
    }
}

/// What every bar surface looks like (filled from the config's `[bar]`).
#[derive(Clone, Debug, PartialEq)]
pub struct SurfaceConfig {
    /// Height in logical pixels; with the margin on the side away from the
    /// screen edge, the exclusive zone.
    pub height: u32,
    /// Which screen edge.
    pub edge: Edge,
    /// Which layer-shell layer.
    pub layer: Stacking,
    /// Space between the bar and the output's edges, logical pixels:
    /// top, right, bottom, left. The compositor adds the margin on the
    /// anchored edge to the exclusive zone; the one on the far side is
    /// added here, so windows keep that gap to a floating bar too.
    pub margin: [u32; 4],
    /// The outputs (by name) that get a bar; `None`: every output.
    pub outputs: Option<Vec<String>>,
    /// Font, spacing, background.
    pub look: Look,
    /// Use ARGB8888 even when ABGR8888 is offered (tests the fallback path).
    pub force_argb: bool,
}

impl Default for SurfaceConfig {
    fn default() -> Self {
        SurfaceConfig {
            height: 28,
            edge: Edge::Top,
            layer: Stacking::Top,
            margin: [0; 4],
            outputs: None,
            look: Look::default(),
            force_argb: false,
        }
    }
}

/// Why the bar cannot start on this display.
#[derive(Debug)]
pub enum ConnectError {
    /// No `WAYLAND_DISPLAY` / socket, or the connection failed.
    NoCompositor(String),
    /// A global we cannot work without is missing (layer shell, shm, …).
    Missing(&'static str),
}

/// One output's bar.
struct OutputBar {
    /// The idle inhibitor on this bar's surface, while one is wanted.
    /// Declared first so it is destroyed before the surface.
    inhibitor: Option<idle::Inhibitor>,
    /// Fractional scale and viewport, when offered. Declared first so it is
    /// dropped (destroyed) before the layer surface and its wl_surface.
    scaling: Option<SurfaceScaling>,
    /// The compositor's preferred scale in 120ths (fractional-scale-v1).
    preferred120: Option<u32>,
    id: u64,
    output: wl_output::WlOutput,
    layer: LayerSurface,
    renderer: Renderer,
    /// Its output's tag: segments tagged for another output are not drawn
    /// here (each output's workspaces on its own bar).
    tag: Option<OutputTag>,
    /// Logical size from the last configure (0 until the first).
    logical: (u32, u32),
    scale: u32,
    /// The buffer scale last committed to the surface.
    applied_scale: u32,
    configured: bool,
    /// A frame callback is outstanding: draw when it fires, not before.
    frame_pending: bool,
    /// The content changed since the last commit.
    dirty: bool,
    buffers: Option<Buffers>,
    generation: u64,
}

/// The Wayland state: globals, bars, the segments to show and the glyphs to
/// show them with. It is the event loop's data.
pub struct Bars {
    registry: RegistryState,
    outputs: OutputState,
    compositor: CompositorState,
    layer_shell: LayerShell,
    shm: Shm,
    /// wp_fractional_scale_v1 + wp_viewporter, when the compositor has both.
    fractional: Option<FractionalGlobals>,
    qh: QueueHandle<Bars>,
    cfg: SurfaceConfig,
    glyphs: GlyphCache,
    segments: Vec<Segment>,
    /// Scratch: the segments one bar shows (reused, no allocation per frame).
    shown: Vec<Segment>,
    bars: Vec<OutputBar>,
    next_id: u64,
    /// Scratch for damage rectangles (reused, no allocation per frame).
    rects: Vec<Rect>,
    /// Counts frames committed, for tests and `--bench`-style reporting.
    pub commits: u64,
    /// False while hidden (SIGUSR1): no surfaces, so no exclusive zone.
    visible: bool,
    // The seats' pointers (pointer.rs) and the popup (popup.rs).
    pointer: pointer::PointerState,
    popup: popup::PopupState,
    /// The open context menu (menu.rs).
    menu: menu::MenuState,
    /// zwp_idle_inhibit_manager_v1, when offered.
    idle: Option<idle::IdleGlobals>,
    /// Some module wants the compositor kept from going idle.
    inhibit: bool,
    /// Where that wish is kept while there is no bar surface (hidden).
    spare: Option<SpareInhibitor>,
}

/// An inhibitor on a surface of its own (no role, never mapped).
struct SpareInhibitor {
    inhibitor: Option<idle::Inhibitor>,
    surface: wl_surface::WlSurface,
}

impl Drop for SpareInhibitor {
    fn drop(&mut self) {
        // The inhibitor must go before its surface.
        self.inhibitor = None;
        self.surface.destroy();
    }
}

impl Bars {
    /// Connects to the compositor named by the environment and binds the
    /// globals. Bars appear as outputs are announced, once the returned queue
    /// is dispatched.
    pub fn connect(
        cfg: SurfaceConfig,
        mut glyphs: GlyphCache,
    ) -> Result<(Bars, Connection, EventQueue<Bars>), ConnectError> {
        let conn =
            Connection::connect_to_env().map_err(|e| ConnectError::NoCompositor(e.to_string()))?;
        let (globals, queue) = registry_queue_init::<Bars>(&conn)
            .map_err(|e| ConnectError::NoCompositor(e.to_string()))?;
        let qh = queue.handle();
        let compositor = CompositorState::bind(&globals, &qh)
            .map_err(|_| ConnectError::Missing("wl_compositor"))?;
        let layer_shell = LayerShell::bind(&globals, &qh)
            .map_err(|_| ConnectError::Missing("zwlr_layer_shell_v1"))?;
        let shm = Shm::bind(&globals, &qh).map_err(|_| ConnectError::Missing("wl_shm"))?;
        let fractional = FractionalGlobals::bind(&globals, &qh);
        // No seat means no pointer, no xdg shell means no popup;
        // the bar works without either.
        let seats = SeatState::new(&globals, &qh);
        let xdg = popup::WmBase::bind(&globals, &qh);
        let popup = popup::PopupState::new(xdg, PopupLook::default(), &mut glyphs);
        let idle = idle::IdleGlobals::bind(&globals, &qh);
        let bars = Bars {
            registry: RegistryState::new(&globals),
            outputs: OutputState::new(&globals, &qh),
            compositor,
            layer_shell,
            shm,
            fractional,
            qh,
            cfg,
            glyphs,
            segments: Vec::with_capacity(MAX_SEGMENTS),
            shown: Vec::with_capacity(MAX_SEGMENTS),
            bars: Vec::new(),
            next_id: 1,
            rects: Vec::with_capacity(MAX_SEGMENTS + 1),
            commits: 0,
            visible: true,
            pointer: pointer::PointerState::new(seats),
            popup,
            menu: menu::MenuState::default(),
            idle,
            inhibit: false,
            spare: None,
        };
        Ok((bars, conn, queue))
    }

    /// How many outputs currently have a bar.
    pub fn bar_count(&self) -> usize {
        self.bars.len()
    }

    /// The index in [`Bars::set_segments`]'s list of segment `local` of what
    /// the bar tagged `tag` shows (its renderer counts only those).
    fn global_index(&self, tag: Option<OutputTag>, local: usize) -> Option<usize> {
        self.segments
            .iter()
            .enumerate()
            .filter(|(_, s)| s.output.is_none() || s.output == tag)
            .nth(local)
            .map(|(i, _)| i)
    }

    /// The inverse of [`Bars::global_index`]: where segment `global` sits
    /// among what the bar tagged `tag` shows, if it shows it.
    fn local_index(&self, tag: Option<OutputTag>, global: usize) -> Option<usize> {
        let s = self.segments.get(global)?;
        if s.output.is_some() && s.output != tag {
            return None;
        }
        Some(
            self.segments[..global]
                .iter()
                .filter(|s| s.output.is_none() || s.output == tag)
                .count(),
        )
    }

    /// The output tag of the bar drawn on `surface`: with the index of a
    /// segment in what that bar shows, it names the module segment under
    /// the pointer (`Modules::index_on`), as bars draw only the segments for
    /// every output and their own.
    pub fn output_tag(&self, surface: &wl_surface::WlSurface) -> Option<OutputTag> {
        self.bar_by_surface(surface).and_then(|i| self.bars[i].tag)
    }

    /// Whether some bar could draw a frame now (configured, no frame
    /// callback outstanding): an animation draws its next frame then.
    pub fn frame_ready(&self) -> bool {
        self.bars
            .iter()
            .any(|b| b.configured && !b.frame_pending && b.buffers.is_some())
    }

    /// The glyph cache (to warm it for the sizes in use).
    pub fn glyphs_mut(&mut self) -> &mut GlyphCache {
        &mut self.glyphs
    }

    /// Shows `segments` on every bar, redrawing what changed as soon as each
    /// surface may draw (now, or at its next frame callback).
    pub fn set_segments(&mut self, segments: &[Segment]) {
        if segments == self.segments.as_slice() {
            return;
        }
        self.segments.clear();
        self.segments
            .extend_from_slice(&segments[..segments.len().min(MAX_SEGMENTS)]);
        for i in 0..self.bars.len() {
            self.bars[i].dirty = true;
            self.draw(i);
        }
    }

    /// Applies a new configuration (a reload): surfaces change size, edge,
    /// margins and look in place; a new layer recreates them; outputs that
    /// are no longer wanted lose their bar and newly wanted ones gain one.
    /// `glyphs` replaces the glyph cache when the font changed; `segments`
    /// are the new modules' (drawn in the same frame as the new look).
    pub fn reconfigure(
        &mut self,
        cfg: SurfaceConfig,
        glyphs: Option<GlyphCache>,
        segments: &[Segment],
    ) {
        let recreate = cfg.layer != self.cfg.layer;
        self.cfg = cfg;
        // The reload may move or drop the module the popup hangs
        // from, or change the glyphs its layout was measured with.
        if let Some(bar) = self.popup_bar() {
            self.popup_parent_gone(bar);
        }
        if let Some(g) = glyphs {
            self.glyphs = g;
            self.popup_glyphs_changed();
        }
        self.segments.clear();
        self.segments
            .extend_from_slice(&segments[..segments.len().min(MAX_SEGMENTS)]);
        if recreate {
            // Layer surfaces can only move between layers from protocol
            // version 2 on; a new surface works with every compositor.
            self.bars.clear();
        }
        let cfg = &self.cfg;
        let outputs = &self.outputs;
        self.bars
            .retain(|b| wanted(cfg.outputs.as_deref(), outputs, &b.output));
        for i in 0..self.bars.len() {
            let b = &mut self.bars[i];
            apply_layer_state(&b.layer, &self.cfg);
            b.renderer.set_look(self.cfg.look);
            // The old glyphs may be gone: repaint everything.
            b.renderer.invalidate();
            self.glyphs
                .warm(crate::render::glyphs::WARM_CHARS, b.renderer.font_px());
            b.dirty = true;
            // Commit the new surface state now; the compositor answers with
            // a configure (new size) and the bar draws then, or below.
            b.layer.commit();
            self.draw(i);
        }
        self.add_missing_bars();
        self.apply_inhibit();
    }

    /// Shows or hides every bar. Hidden bars have no surfaces at all, so
    /// their exclusive zones go away too; showing creates them again.
    pub fn set_visible(&mut self, visible: bool) {
        if visible == self.visible {
            return;
        }
        self.visible = visible;
        if visible {
            self.add_missing_bars();
        } else {
            // Dropping a bar destroys its layer surface, surface and buffers;
            // the popup hanging from one goes first.
            if let Some(bar) = self.popup_bar() {
                self.popup_parent_gone(bar);
            }
            self.bars.clear();
        }
        self.apply_inhibit();
    }

    /// Keeps the compositor from going idle (`true`) or lets it (an idle
    /// inhibitor module's state); kept across hiding and reconfiguring.
    /// Without the protocol it changes nothing.
    pub fn set_idle_inhibit(&mut self, on: bool) {
        if on != self.inhibit {
            self.inhibit = on;
            self.apply_inhibit();
        }
    }

    /// Whether idle inhibition is wanted (and, where the compositor offers
    /// it, held).
    pub fn idle_inhibited(&self) -> bool {
        self.inhibit && self.idle.is_some()
    }

    /// Makes the inhibitors match the wish: one per bar surface, or the
    /// spare surface's while there is none.
    fn apply_inhibit(&mut self) {
        let Some(idle) = &self.idle else {
            return;
        };
        for b in &mut self.bars {
            match (self.inhibit, b.inhibitor.is_some()) {
                (true, false) => b.inhibitor = Some(idle.inhibit(b.layer.wl_surface(), &self.qh)),
                (false, true) => b.inhibitor = None,
                _ => {}
            }
        }
        let need_spare = self.inhibit && self.bars.is_empty();
        if need_spare && self.spare.is_none() {
            let surface = self.compositor.create_surface(&self.qh);
            let inhibitor = Some(idle.inhibit(&surface, &self.qh));
            surface.commit();
            self.spare = Some(SpareInhibitor { inhibitor, surface });
        } else if !need_spare {
            self.spare = None;
        }
    }

    /// Whether the bars are shown.
    pub fn visible(&self) -> bool {
        self.visible
    }

    /// Gives every wanted output without a bar one.
    fn add_missing_bars(&mut self) {
        let outputs: Vec<wl_output::WlOutput> = self.outputs.outputs().collect();
        for o in outputs {
            self.add_bar(o);
        }
    }

    fn add_bar(&mut self, output: wl_output::WlOutput) {
        if !self.visible
            || self.bars.iter().any(|b| b.output == output)
            || !wanted(self.cfg.outputs.as_deref(), &self.outputs, &output)
        {
            return;
        }
        let scale = self
            .outputs
            .info(&output)
            .map_or(1, |i| i.scale_factor.max(1) as u32);
        let surface = self.compositor.create_surface(&self.qh);
        let layer = self.layer_shell.create_layer_surface(
            &self.qh,
            surface,
            self.cfg.layer.layer(),
            Some("rstat"),
            Some(&output),
        );
        apply_layer_state(&layer, &self.cfg);
        layer.set_keyboard_interactivity(KeyboardInteractivity::None);
        let id = self.next_id;
        self.next_id += 1;
        let tag = self
            .outputs
            .info(&output)
            .and_then(|i| i.name)
            .map(|n| OutputTag::of(&n));
        let scaling = self
            .fractional
            .as_ref()
            .map(|f| f.for_surface(layer.wl_surface(), id, &self.qh));
        // The first commit carries no buffer; the compositor answers with a
        // configure, and we draw then.
        layer.commit();
        self.bars.push(OutputBar {
            inhibitor: None,
            scaling,
            preferred120: None,
            id,
            output,
            layer,
            renderer: Renderer::new(self.cfg.look),
            tag,
            logical: (0, 0),
            scale,
            applied_scale: 1,
            configured: false,
            frame_pending: false,
            dirty: true,
            buffers: None,
            generation: 0,
        });
        self.apply_inhibit();
    }

    fn bar_by_surface(&self, surface: &wl_surface::WlSurface) -> Option<usize> {
        self.bars
            .iter()
            .position(|b| b.layer.wl_surface() == surface)
    }

    /// Called by a buffer's release: it may be drawn into again.
    fn buffer_released(&mut self, bar: u64, generation: u64, index: usize) {
        if bar == popup::POPUP_BUFFERS {
            return self.popup_buffer_released(generation, index);
        }
        if bar <= menu::MENU_BUFFERS && bar > menu::MENU_BUFFERS - menu::MAX_LEVELS as u64 {
            return self.menu_buffer_released(bar, generation, index);
        }
        let Some(i) = self.bars.iter().position(|b| b.id == bar) else {
            return;
        };
        if let Some(bufs) = &mut self.bars[i].buffers {
            if bufs.generation == generation {
                bufs.slots[index].busy = false;
            }
        }
        if self.bars[i].dirty {
            self.draw(i);
        }
    }

    /// Draws bar `i` if it may (configured, no frame callback pending, a free
    /// buffer) and something changed: repaints what the chosen buffer missed,
    /// reports what changed since the last commit, and commits.
    fn draw(&mut self, i: usize) {
        let b = &mut self.bars[i];
        if !b.configured || b.frame_pending || !b.dirty {
            return;
        }
        // With a viewport the buffer may have any size (fractional scale);
        // without, it is the logical size times the integer output scale.
        let scale120 = match (&b.scaling, b.preferred120) {
            (Some(_), Some(s)) => s,
            _ => b.scale * 120,
        };
        b.renderer
            .resize_fractional(b.logical.0, b.logical.1, scale120);
        let (w, h) = b.renderer.size();
        if w == 0 || h == 0 {
            return;
        }
        let format =
            if !self.cfg.force_argb && self.shm.formats().contains(&wl_shm::Format::Abgr8888) {
                Format::Abgr8888
            } else {
                Format::Argb8888
            };
        let fits = b
            .buffers
            .as_ref()
            .is_some_and(|x| (x.width, x.height, x.format) == (w, h, format));
        if !fits {
            // Drop the old pool first: at most two buffers live per surface.
            b.buffers = None;
            b.generation += 1;
            match Buffers::new(&self.shm, &self.qh, b.id, b.generation, w, h, format) {
                Ok(x) => b.buffers = Some(x),
                Err(e) => {
                    eprintln!("rstat: cannot draw the bar: {}", e.0);
                    return;
                }
            }
            // Warm the cache for this size so the first ticks do not rasterise.
            self.glyphs
                .warm(crate::render::glyphs::WARM_CHARS, b.renderer.font_px());
        }
        let Some(bufs) = b.buffers.as_mut() else {
            return;
        };
        let Some(k) = bufs.pick() else {
            // Both buffers are still with the compositor; a release will
            // call us again (dirty stays set).
            return;
        };
        self.shown.clear();
        self.shown.extend(
            self.segments
                .iter()
                .filter(|s| s.output.is_none() || s.output == b.tag),
        );
        let changed = b.renderer.update(&self.shown, &mut self.glyphs);
        b.dirty = false;
        if changed.is_empty() {
            return;
        }
        let repaint = b.renderer.since(bufs.slots[k].shown);
        match bufs.format {
            Format::Abgr8888 => {
                if let Some(mut c) = Canvas::new(bufs.canvas(k), w, h) {
                    b.renderer.paint(&mut c, repaint, &mut self.glyphs);
                }
            }
            Format::Argb8888 => {
                let (private, canvas) = bufs.private_and_canvas(k);
                if let Some(mut c) = Canvas::new(private, w, h) {
                    b.renderer.paint(&mut c, changed, &mut self.glyphs);
                }
                b.renderer.rects(repaint, &mut self.rects);
                for r in &self.rects {
                    crate::render::paint::copy_rect_to_argb(private, canvas, w, *r);
                }
            }
        }
        let slot = &mut bufs.slots[k];
        slot.shown = b.renderer.frame();
        slot.busy = true;
        let surface = b.layer.wl_surface();
        let buffer_scale = match &mut b.scaling {
            Some(sc) => {
                // The viewport maps the buffer onto the logical size.
                sc.set_destination(b.logical);
                1
            }
            None => b.scale,
        };
        if b.applied_scale != buffer_scale {
            surface.set_buffer_scale(buffer_scale as i32);
            b.applied_scale = buffer_scale;
        }
        b.renderer.rects(changed, &mut self.rects);
        for r in &self.rects {
            surface.damage_buffer(r.x, r.y, r.w, r.h);
        }
        surface.frame(&self.qh, FrameCallbackData(surface.clone()));
        surface.attach(Some(&slot.buffer), 0, 0);
        b.frame_pending = true;
        surface.commit();
        self.commits += 1;
        if changed.full || changed.has_span() {
            // Segments moved (a drawer opened): what lies under a pointer
            // that did not move may be another segment now.
            self.retarget(i);
        }
    }

    /// Called by `wp_fractional_scale_v1.preferred_scale`.
    fn fractional_scale_changed(&mut self, bar: u64, scale120: u32) {
        let Some(i) = self.bars.iter().position(|b| b.id == bar) else {
            return;
        };
        let b = &mut self.bars[i];
        if b.preferred120 != Some(scale120) && scale120 > 0 {
            b.preferred120 = Some(scale120);
            b.dirty = true;
            self.draw(i);
        }
    }

    fn set_scale(&mut self, i: usize, scale: u32) {
        let b = &mut self.bars[i];
        if b.scale != scale {
            b.scale = scale;
            b.dirty = true;
            self.draw(i);
        }
    }
}

/// Sets the layer surface's anchor, size, exclusive zone and margins from
/// `cfg` (applied at the next commit).
fn apply_layer_state(layer: &LayerSurface, cfg: &SurfaceConfig) {
    let edge = match cfg.edge {
        Edge::Top => Anchor::TOP,
        Edge::Bottom => Anchor::BOTTOM,
    };
    layer.set_anchor(edge | Anchor::LEFT | Anchor::RIGHT);
    // Width 0: the compositor gives us the output's full width.
    layer.set_size(0, cfg.height);
    let m = cfg.margin.map(|v| v.min(i32::MAX as u32) as i32);
    layer.set_exclusive_zone(exclusive_zone(cfg));
    layer.set_margin(m[0], m[1], m[2], m[3]);
}

/// The exclusive zone of a bar of `cfg`: its height and the margin between
/// it and the windows (the one on the edge side the compositor adds).
pub fn exclusive_zone(cfg: &SurfaceConfig) -> i32 {
    let far = match cfg.edge {
        Edge::Top => cfg.margin[2],
        Edge::Bottom => cfg.margin[0],
    };
    cfg.height.saturating_add(far).min(i32::MAX as u32) as i32
}

/// Whether `output` should have a bar: every output when `names` is `None`,
/// else those whose name (wl_output v4 or xdg-output) is listed.
fn wanted(names: Option<&[String]>, outputs: &OutputState, output: &wl_output::WlOutput) -> bool {
    let Some(names) = names else {
        return true;
    };
    outputs
        .info(output)
        .and_then(|i| i.name)
        .is_some_and(|n| names.contains(&n))
}

impl CompositorHandler for Bars {
    fn scale_factor_changed(
        &mut self,
        _: &Connection,
        _: &QueueHandle<Self>,
        surface: &wl_surface::WlSurface,
        factor: i32,
    ) {
        if let Some(i) = self.bar_by_surface(surface) {
            self.set_scale(i, factor.max(1) as u32);
        }
    }

    fn transform_changed(
        &mut self,
        _: &Connection,
        _: &QueueHandle<Self>,
        _: &wl_surface::WlSurface,
        _: wl_output::Transform,
    ) {
        // The compositor rotates our buffer for us; a bar has no reason to.
    }

    fn frame(
        &mut self,
        _: &Connection,
        _: &QueueHandle<Self>,
        surface: &wl_surface::WlSurface,
        _: u32,
    ) {
        if let Some(i) = self.bar_by_surface(surface) {
            self.bars[i].frame_pending = false;
            self.draw(i);
        }
    }

    fn surface_enter(
        &mut self,
        _: &Connection,
        _: &QueueHandle<Self>,
        _: &wl_surface::WlSurface,
        _: &wl_output::WlOutput,
    ) {
    }

    fn surface_leave(
        &mut self,
        _: &Connection,
        _: &QueueHandle<Self>,
        _: &wl_surface::WlSurface,
        _: &wl_output::WlOutput,
    ) {
    }
}

impl OutputHandler for Bars {
    fn output_state(&mut self) -> &mut OutputState {
        &mut self.outputs
    }

    fn new_output(&mut self, _: &Connection, _: &QueueHandle<Self>, output: wl_output::WlOutput) {
        self.add_bar(output);
    }

    fn update_output(
        &mut self,
        _: &Connection,
        _: &QueueHandle<Self>,
        output: wl_output::WlOutput,
    ) {
        let scale = self
            .outputs
            .info(&output)
            .map_or(1, |i| i.scale_factor.max(1) as u32);
        match self.bars.iter().position(|b| b.output == output) {
            Some(i) => self.set_scale(i, scale),
            // The compositor closed our surface on this output earlier (it
            // was disabled or powered off) but kept the output: now that it
            // changed again, give it a bar again.
            None => self.add_bar(output),
        }
    }

    fn output_destroyed(
        &mut self,
        _: &Connection,
        _: &QueueHandle<Self>,
        output: wl_output::WlOutput,
    ) {
        // Dropping the bar destroys its layer surface, surface, buffers and
        // pool; a popup hanging from it goes first.
        if let Some(b) = self.bars.iter().find(|b| b.output == output) {
            self.popup_parent_gone(b.id);
        }
        self.bars.retain(|b| b.output != output);
        self.apply_inhibit();
    }
}

impl LayerShellHandler for Bars {
    fn closed(&mut self, _: &Connection, _: &QueueHandle<Self>, layer: &LayerSurface) {
        if let Some(b) = self.bars.iter().find(|b| &b.layer == layer) {
            self.popup_parent_gone(b.id);
        }
        self.bars.retain(|b| &b.layer != layer);
        self.apply_inhibit();
    }

    fn configure(
        &mut self,
        _: &Connection,
        _: &QueueHandle<Self>,
        layer: &LayerSurface,
        configure: LayerSurfaceConfigure,
        _: u32,
    ) {
        let Some(i) = self.bars.iter().position(|b| &b.layer == layer) else {
            return;
        };
        let (mut w, mut h) = configure.new_size;
        if w == 0 {
            // Not expected with left+right anchors; fall back to the output's width.
            w = self
                .outputs
                .info(&self.bars[i].output)
                .and_then(|info| info.logical_size)
                .map_or(0, |(w, _)| w.max(0) as u32);
        }
        if h == 0 {
            h = self.cfg.height;
        }
        let b = &mut self.bars[i];
        if !b.configured || b.logical != (w, h) {
            b.dirty = true;
        }
        b.logical = (w, h);
        b.configured = true;
        self.draw(i);
    }
}

impl ShmHandler for Bars {
    fn shm_state(&mut self) -> &mut Shm {
        &mut self.shm
    }
}

impl ProvidesRegistryState for Bars {
    fn registry(&mut self) -> &mut RegistryState {
        &mut self.registry
    }
    registry_handlers![OutputState, SeatState];
}

delegate_registry!(Bars);
delegate_dispatch2!(Bars);
