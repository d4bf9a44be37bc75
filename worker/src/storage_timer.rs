//! One timer per request for the storage timeout (`STORAGE_TIMEOUT_MS`).
//!
//! The guarantee: every storage call answers within `STORAGE_TIMEOUT_MS` of its own start, or
//! becomes [`tollgate_core::store::StoreError::Unavailable`] (a 503). A JavaScript timer per
//! call keeps it, but each costs a `setTimeout`, a closure and a `clearTimeout`, all calls out
//! of the wasm, and a login or a refresh makes several storage calls one after another.
//!
//! Here the calls of one request share one timer, armed for the earliest deadline among them.
//! A call that starts while the timer is armed (its deadline is later: every call has the same
//! timeout) reads the clock and waits on the same timer. When it fires, each waiting call checks
//! its own deadline: one past it times out; one not yet past it re-arms the timer for its own.
//! Calls that answer in time, which is nearly all of them, never re-arm it, so a request arms
//! one timer however many calls it makes, and each call still keeps exactly its own deadline.
//! The timer is cancelled when the request's stores are dropped.
//!
//! The bookkeeping is generic over its [`Host`] (clock and timers), so the unit tests below
//! drive it with a fake clock; the Worker uses [`JsHost`].

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::{Closure, wasm_bindgen};

/// A clock and one-shot timers.
pub(crate) trait Host {
    /// An armed timer; dropping it cancels it.
    type Timer: 'static;
    /// Milliseconds since the epoch.
    fn now_ms(&self) -> f64;
    /// Calls `fire` once, `ms` milliseconds from now.
    fn arm(&self, ms: f64, fire: Box<dyn FnMut()>) -> Self::Timer;
}

/// The timer shared by one request's storage calls.
pub(crate) struct StorageTimer<H: Host> {
    host: H,
    state: Rc<RefCell<State<H::Timer>>>,
}

struct State<T> {
    armed: Option<Armed<T>>,
    /// Timers armed so far; each gets the next number.
    generations: u64,
    /// The latest timer that has fired.
    fired: Option<u64>,
    /// Whom to wake when the timer fires.
    waiting: Vec<Waker>,
}

struct Armed<T> {
    generation: u64,
    /// When it fires, if known: a timer armed by the first call of a request does not read
    /// the clock (a call out of the wasm) since its call's deadline is the timer itself.
    fires_at: Option<f64>,
    _timer: T,
}

/// A call's deadline.
enum Deadline {
    /// When timer `generation` fires (the call armed it).
    OfTimer(u64),
    /// At this time, in milliseconds since the epoch.
    At(f64),
}

impl<T> State<T> {
    /// Forgets the armed timer once it has fired.
    fn settle(&mut self) {
        if let Some(a) = &self.armed
            && self.fired.is_some_and(|f| f >= a.generation)
        {
            self.armed = None;
        }
    }
}

impl<H: Host> StorageTimer<H> {
    /// No timer armed yet: a request that makes no storage call arms none.
    pub(crate) fn new(host: H) -> StorageTimer<H> {
        StorageTimer {
            host,
            state: Rc::new(RefCell::new(State {
                armed: None,
                generations: 0,
                fired: None,
                waiting: Vec::new(),
            })),
        }
    }

    /// Polls `fut` until it finishes (`Some`), or until `ms` milliseconds from now (`None`).
    pub(crate) async fn within<T>(&self, ms: u64, fut: impl Future<Output = T>) -> Option<T> {
        let mut fut = pin!(fut);
        let deadline = self.start(ms as f64);
        poll_fn(|cx| {
            if let Poll::Ready(v) = fut.as_mut().poll(cx) {
                return Poll::Ready(Some(v));
            }
            if self.expired(&deadline, cx) {
                Poll::Ready(None)
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// A new call's deadline: the timer it arms, if none is armed, else `ms` from now.
    fn start(&self, ms: f64) -> Deadline {
        let mut state = self.state.borrow_mut();
        state.settle();
        if state.armed.is_some() {
            Deadline::At(self.host.now_ms() + ms)
        } else {
            Deadline::OfTimer(self.arm(&mut state, ms, None))
        }
    }

    /// Whether `deadline` has passed; if not, the timer will wake `cx` by then.
    fn expired(&self, deadline: &Deadline, cx: &Context<'_>) -> bool {
        let mut state = self.state.borrow_mut();
        state.settle();
        let expired = match *deadline {
            Deadline::OfTimer(generation) => state.fired.is_some_and(|f| f >= generation),
            Deadline::At(at) => {
                let covered = state
                    .armed
                    .as_ref()
                    .is_some_and(|a| a.fires_at.is_none_or(|f| f <= at));
                if covered {
                    false
                } else {
                    let now = self.host.now_ms();
                    if now >= at {
                        true
                    } else {
                        self.arm(&mut state, at - now, Some(at));
                        false
                    }
                }
            }
        };
        if !expired && !state.waiting.iter().any(|w| w.will_wake(cx.waker())) {
            state.waiting.push(cx.waker().clone());
        }
        expired
    }

    /// Arms a new timer (replacing, and so cancelling, any armed one); returns its number.
    fn arm(&self, state: &mut State<H::Timer>, ms: f64, fires_at: Option<f64>) -> u64 {
        state.generations += 1;
        let generation = state.generations;
        let shared: Weak<RefCell<State<H::Timer>>> = Rc::downgrade(&self.state);
        let fire = Box::new(move || {
            if let Some(shared) = shared.upgrade() {
                let mut state = shared.borrow_mut();
                state.fired = Some(state.fired.map_or(generation, |f| f.max(generation)));
                for waker in state.waiting.drain(..) {
                    waker.wake();
                }
            }
        });
        state.armed = Some(Armed {
            generation,
            fires_at,
            _timer: self.host.arm(ms, fire),
        });
        generation
    }
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &js_sys::Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// The runtime's clock and timers.
pub(crate) struct JsHost;

/// A `setTimeout` and its callback, cleared when dropped.
pub(crate) struct JsTimer {
    id: JsValue,
    _callback: Closure<dyn FnMut()>,
}

impl Drop for JsTimer {
    fn drop(&mut self) {
        clear_timeout(&self.id);
    }
}

impl Host for JsHost {
    type Timer = JsTimer;

    fn now_ms(&self) -> f64 {
        js_sys::Date::now()
    }

    fn arm(&self, ms: f64, fire: Box<dyn FnMut()>) -> JsTimer {
        use wasm_bindgen::JsCast;
        let callback = Closure::wrap(fire);
        let id = set_timeout(callback.as_ref().unchecked_ref(), ms.ceil());
        JsTimer {
            id,
            _callback: callback,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::future::{Future, pending};
    use std::pin::pin;
    use std::rc::Rc;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Wake, Waker};

    use super::{Host, StorageTimer};

    /// A fake clock whose timers fire only when the test says so.
    #[derive(Clone, Default)]
    struct Fake(Rc<FakeState>);

    /// A timer armed on the fake clock: when it is due, its callback, and whether it is armed.
    type FakeEntry = (f64, Option<Box<dyn FnMut()>>, Rc<Cell<bool>>);

    #[derive(Default)]
    struct FakeState {
        now: Cell<f64>,
        clock_reads: Cell<u32>,
        /// Every timer armed, in order.
        timers: RefCell<Vec<FakeEntry>>,
    }

    struct FakeTimer(Rc<Cell<bool>>);
    impl Drop for FakeTimer {
        fn drop(&mut self) {
            self.0.set(false);
        }
    }

    impl Host for Fake {
        type Timer = FakeTimer;
        fn now_ms(&self) -> f64 {
            self.0.clock_reads.set(self.0.clock_reads.get() + 1);
            self.0.now.get()
        }
        fn arm(&self, ms: f64, fire: Box<dyn FnMut()>) -> FakeTimer {
            let live = Rc::new(Cell::new(true));
            let due = self.0.now.get() + ms;
            self.0
                .timers
                .borrow_mut()
                .push((due, Some(fire), live.clone()));
            FakeTimer(live)
        }
    }

    impl Fake {
        /// Moves the clock to `at` and fires every live timer due by then.
        fn advance_to(&self, at: f64) {
            self.0.now.set(at);
            let mut due = Vec::new();
            for (when, fire, live) in self.0.timers.borrow_mut().iter_mut() {
                if *when <= at && live.get() {
                    live.set(false);
                    due.extend(fire.take());
                }
            }
            for mut fire in due {
                fire();
            }
        }
        fn armed(&self) -> usize {
            self.0.timers.borrow().len()
        }
        fn live(&self) -> usize {
            self.0.timers.borrow().iter().filter(|t| t.2.get()).count()
        }
    }

    struct CountWakes(AtomicUsize);
    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll<F: Future>(fut: std::pin::Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn sequential_calls_that_answer_in_time_share_one_timer() {
        let fake = Fake::default();
        let timer = StorageTimer::new(fake.clone());
        let waker = Waker::noop();
        for i in 0..4 {
            fake.advance_to(f64::from(i) * 10.0);
            let mut call = pin!(timer.within(100, async { i }));
            assert_eq!(poll(call.as_mut(), waker), Poll::Ready(Some(i)));
        }
        assert_eq!(fake.armed(), 1, "one timer for four calls");
        assert_eq!(fake.0.clock_reads.get(), 3, "the first call reads no clock");
        drop(timer);
        assert_eq!(fake.live(), 0, "the request's end cancels the timer");
    }

    #[test]
    fn the_call_that_armed_the_timer_times_out_when_it_fires() {
        let fake = Fake::default();
        let timer = StorageTimer::new(fake.clone());
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut call = pin!(timer.within(100, pending::<()>()));
        assert_eq!(poll(call.as_mut(), &waker), Poll::Pending);
        fake.advance_to(99.0);
        assert_eq!(poll(call.as_mut(), &waker), Poll::Pending);
        fake.advance_to(100.0);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "the timer woke the call");
        assert_eq!(poll(call.as_mut(), &waker), Poll::Ready(None));
    }

    #[test]
    fn a_later_call_keeps_its_own_deadline_past_the_shared_timer() {
        let fake = Fake::default();
        let timer = StorageTimer::new(fake.clone());
        let waker = Waker::noop();
        // The first call arms the timer for 100 and answers at 30.
        let mut first = pin!(timer.within(100, async {}));
        assert_eq!(poll(first.as_mut(), waker), Poll::Ready(Some(())));
        // The second starts at 30 (deadline 130) and never answers.
        fake.advance_to(30.0);
        let mut second = pin!(timer.within(100, pending::<()>()));
        assert_eq!(poll(second.as_mut(), waker), Poll::Pending);
        assert_eq!(fake.armed(), 1, "it waits on the armed timer");
        // The shared timer fires at 100: not yet the second call's deadline, so it re-arms.
        fake.advance_to(100.0);
        assert_eq!(poll(second.as_mut(), waker), Poll::Pending);
        assert_eq!(fake.armed(), 2, "re-armed for the call's own deadline");
        fake.advance_to(129.0);
        assert_eq!(poll(second.as_mut(), waker), Poll::Pending);
        fake.advance_to(130.0);
        assert_eq!(poll(second.as_mut(), waker), Poll::Ready(None));
    }

    #[test]
    fn concurrent_calls_each_time_out_at_their_own_deadline() {
        let fake = Fake::default();
        let timer = StorageTimer::new(fake.clone());
        let waker = Waker::noop();
        let mut a = pin!(timer.within(100, pending::<()>()));
        assert_eq!(poll(a.as_mut(), waker), Poll::Pending);
        fake.advance_to(50.0);
        let mut b = pin!(timer.within(100, pending::<()>()));
        assert_eq!(poll(b.as_mut(), waker), Poll::Pending);
        fake.advance_to(100.0);
        assert_eq!(
            poll(b.as_mut(), waker),
            Poll::Pending,
            "b's deadline is 150"
        );
        assert_eq!(poll(a.as_mut(), waker), Poll::Ready(None));
        fake.advance_to(150.0);
        assert_eq!(poll(b.as_mut(), waker), Poll::Ready(None));
        assert_eq!(fake.live(), 0);
    }

    #[test]
    fn a_call_that_answers_before_its_deadline_is_not_cut_short() {
        let fake = Fake::default();
        let timer = StorageTimer::new(fake.clone());
        let waker = Waker::noop();
        let answered = Rc::new(Cell::new(false));
        let flag = answered.clone();
        let mut call = pin!(timer.within(
            100,
            std::future::poll_fn(move |_| if flag.get() {
                Poll::Ready(7)
            } else {
                Poll::Pending
            })
        ));
        assert_eq!(poll(call.as_mut(), waker), Poll::Pending);
        fake.advance_to(99.0);
        answered.set(true);
        assert_eq!(poll(call.as_mut(), waker), Poll::Ready(Some(7)));
    }
}
