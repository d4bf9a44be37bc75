//! The refresh-token rotation decision as a state machine, with a fixed clock.
// Everything tested here sits behind the default `server` feature.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tollgate_core::RefreshRejection;
use tollgate_core::id::Id;
use tollgate_core::random::SeededRandom;
use tollgate_core::refresh::family::{MIN_STORAGE_TTL_S, PROPAGATION_WINDOW_S};
use tollgate_core::refresh::{
    Family, PresentedToken, RefreshKey, RefreshPolicy, RevokeReason, Rotation, decode_token, rotate,
};
use tollgate_core::store::SessionState;
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const T0: u64 = 1_700_000_000;
const POLICY: RefreshPolicy = RefreshPolicy {
    absolute_ttl_s: 30 * 86_400,
    idle_ttl_s: 7 * 86_400,
    reuse_grace_s: 30,
};

/// A user whose sessions were never ended.
const LIVE: SessionState = SessionState {
    epoch: 0,
    kept: None,
};

fn key() -> RefreshKey {
    RefreshKey::derive_from_jwt_secret("kq3V0c2pXrWm9yZtH1dF8sLbN4gJ6eAi").unwrap()
}

fn login() -> Family {
    let mut rng = SeededRandom::new(42);
    let user = Id::generate(&mut rng);
    Family::start(
        user,
        0,
        "Mozilla/5.0 (X11; Linux x86_64)",
        T0,
        &POLICY,
        &mut rng,
    )
}

/// The token of `generation` as Tollgate issues it, read back as a refresh would.
fn present(family: &Family, generation: u32) -> PresentedToken {
    let token = PresentedToken {
        user_id: family.user_id,
        family_id: family.id,
        generation,
        created_at: family.created_at,
    }
    .encode(&key());
    decode_token(&key(), &token).unwrap()
}

/// Carries out `rotate` against a strongly consistent store, like the Worker would.
fn refresh(store: &mut Family, generation: u32, now: u64) -> Rotation {
    let decision = rotate(
        &key(),
        &present(store, generation),
        Some(store),
        None,
        Some(&LIVE),
        now,
        &POLICY,
    );
    match &decision {
        Rotation::Advanced { family, .. } | Rotation::ReuseDetected { family } => {
            *store = family.clone()
        }
        Rotation::Replayed { .. } | Rotation::Refused { .. } => {}
    }
    decision
}

/// The token Tollgate hands out for `generation` of `family`.
fn token(family: &Family, generation: u32) -> String {
    Family {
        generation,
        ..family.clone()
    }
    .current_token(&key())
}

/// A moment past the login's propagation window, when a missing record means what it says.
const SETTLED: u64 = T0 + PROPAGATION_WINDOW_S;

#[wasm_bindgen_test(unsupported = test)]
fn happy_path_advances_one_generation_per_refresh() {
    let mut store = login();
    let first = store.clone();
    for g in 0..5u32 {
        let now = T0 + 600 * u64::from(g + 1);
        match refresh(&mut store, g, now) {
            Rotation::Advanced { family, token: t } => {
                assert_eq!(family.generation, g + 1);
                assert_eq!((family.rotated_at, family.last_used_at), (now, now));
                assert_eq!(t, token(&first, g + 1));
            }
            other => panic!("generation {g}: {other:?}"),
        }
    }
    assert_eq!(
        (store.created_at, store.expires_at),
        (T0, T0 + POLICY.absolute_ttl_s)
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_retry_within_the_grace_window_gets_the_identical_token_and_writes_nothing() {
    let mut store = login();
    let Rotation::Advanced { token: first, .. } = refresh(&mut store, 0, T0 + 100) else {
        panic!()
    };
    for dt in [0, 1, 29, 30] {
        match refresh(&mut store, 0, T0 + 100 + dt) {
            Rotation::Replayed { token: again } => assert_eq!(again, first, "dt={dt}"),
            other => panic!("dt={dt}: {other:?}"),
        }
    }
    assert_eq!(store.generation, 1, "replays do not advance");
}

#[wasm_bindgen_test(unsupported = test)]
fn two_concurrent_refreshes_with_the_same_token_agree() {
    // Both requests read generation 0 before either wrote: both advance from 0 and, the
    // token being a function of the generation, both hand out the same successor.
    let store = login();
    let a = rotate(
        &key(),
        &present(&store, 0),
        Some(&store),
        None,
        Some(&LIVE),
        T0 + 10,
        &POLICY,
    );
    let b = rotate(
        &key(),
        &present(&store, 0),
        Some(&store),
        None,
        Some(&LIVE),
        T0 + 11,
        &POLICY,
    );
    let (
        Rotation::Advanced {
            token: ta,
            family: fa,
        },
        Rotation::Advanced {
            token: tb,
            family: fb,
        },
    ) = (a, b)
    else {
        panic!()
    };
    assert_eq!(ta, tb);
    assert_eq!(fa.generation, fb.generation);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_stale_read_elsewhere_accepts_a_newer_generation_and_advances_from_it() {
    // Location A rotated 0 -> 1 -> 2; location B still reads generation 0.
    let mut a = login();
    let stale = a.clone();
    refresh(&mut a, 0, T0 + 100);
    refresh(&mut a, 1, T0 + 200);
    match rotate(
        &key(),
        &present(&stale, 2),
        Some(&stale),
        None,
        Some(&LIVE),
        T0 + 300,
        &POLICY,
    ) {
        Rotation::Advanced { family, token: t } => {
            assert_eq!(family.generation, 3);
            assert_eq!(
                t,
                token(&stale, 3),
                "the same successor location A would hand out"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn reuse_of_an_older_token_revokes_the_whole_family() {
    let mut store = login();
    refresh(&mut store, 0, T0 + 100);
    refresh(&mut store, 1, T0 + 200);
    match refresh(&mut store, 0, T0 + 210) {
        Rotation::ReuseDetected { family } => assert_eq!(family.revoked, Some(RevokeReason::Reuse)),
        other => panic!("{other:?}"),
    }
    // Every token of the family, the newest included, is now refused.
    for g in 0..=3 {
        assert_eq!(
            refresh(&mut store, g, T0 + 220),
            Rotation::Refused {
                reason: RefreshRejection::Revoked,
                forget: false
            },
            "generation {g}"
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn the_previous_token_after_the_grace_window_is_reuse() {
    let mut store = login();
    refresh(&mut store, 0, T0 + 100);
    assert!(matches!(
        refresh(&mut store, 0, T0 + 131),
        Rotation::ReuseDetected { .. }
    ));
}

#[wasm_bindgen_test(unsupported = test)]
fn idle_and_absolute_expiry_end_the_family() {
    let mut store = login();
    let idle_end = T0 + POLICY.idle_ttl_s;
    assert!(matches!(
        refresh(&mut store.clone(), 0, idle_end - 1),
        Rotation::Advanced { .. }
    ));
    assert_eq!(
        refresh(&mut store.clone(), 0, idle_end),
        Rotation::Refused {
            reason: RefreshRejection::Idle,
            forget: true
        }
    );
    // Refreshing every 6 days keeps it alive, until the absolute lifetime ends it.
    let mut g = 0;
    let mut now = T0;
    loop {
        now += 6 * 86_400;
        match refresh(&mut store, g, now) {
            Rotation::Advanced { .. } => g += 1,
            Rotation::Refused { reason, forget } => {
                assert_eq!((reason, forget), (RefreshRejection::Expired, true));
                assert!(now >= T0 + POLICY.absolute_ttl_s);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        g, 4,
        "refreshes on days 6, 12, 18 and 24 succeed; day 30 is the end"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_newer_session_epoch_or_a_deleted_user_ends_the_family() {
    let store = login();
    let ended = SessionState {
        epoch: 1,
        kept: None,
    };
    let decide = |user: Option<u64>, now| {
        let state = user.map(|_| ended);
        rotate(
            &key(),
            &present(&store, 0),
            Some(&store),
            None,
            state.as_ref(),
            now,
            &POLICY,
        )
    };
    assert_eq!(
        decide(Some(1), SETTLED),
        Rotation::Refused {
            reason: RefreshRejection::Superseded,
            forget: true
        }
    );
    assert_eq!(
        decide(None, SETTLED),
        Rotation::Refused {
            reason: RefreshRejection::UnknownUser,
            forget: true
        }
    );
    // Within the login's propagation window a dead record is kept (its absence would read as
    // "not arrived yet"), and a missing user may simply not have arrived.
    assert_eq!(
        decide(Some(1), T0 + 5),
        Rotation::Refused {
            reason: RefreshRejection::Superseded,
            forget: false
        }
    );
    assert_eq!(
        decide(None, T0 + 5),
        Rotation::Refused {
            reason: RefreshRejection::NotYetVisible,
            forget: false
        }
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_missing_or_mismatched_record_is_an_unknown_family() {
    let store = login();
    let other = Family {
        id: Id::from_bytes([9; 16]),
        ..store.clone()
    };
    let reborn = Family {
        created_at: T0 + 1,
        ..store.clone()
    };
    for stored in [None, Some(&other), Some(&reborn)] {
        assert_eq!(
            rotate(
                &key(),
                &present(&store, 0),
                stored,
                None,
                Some(&LIVE),
                SETTLED,
                &POLICY
            ),
            Rotation::Refused {
                reason: RefreshRejection::UnknownFamily,
                forget: false
            }
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_missing_record_of_a_young_family_is_not_visible_yet_and_nothing_is_forgotten() {
    let store = login();
    // Any moment before the window closes, including a clock behind the login's.
    for now in [T0 - 5, T0, T0 + 1, SETTLED - 1] {
        assert_eq!(
            rotate(
                &key(),
                &present(&store, 0),
                None,
                None,
                Some(&LIVE),
                now,
                &POLICY
            ),
            Rotation::Refused {
                reason: RefreshRejection::NotYetVisible,
                forget: false
            },
            "{now}"
        );
    }
    // A later generation of the same young family: the same answer.
    assert!(matches!(
        rotate(
            &key(),
            &present(&store, 3),
            None,
            None,
            Some(&LIVE),
            T0 + 20,
            &POLICY
        ),
        Rotation::Refused {
            reason: RefreshRejection::NotYetVisible,
            ..
        }
    ));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_revocation_marker_refuses_the_family_whatever_its_record_says() {
    let store = login();
    // The marker wins over a live record (a stale copy written back elsewhere), over a
    // missing record, and whether or not the user is still there.
    for stored in [Some(&store), None] {
        for user in [Some(&LIVE), None] {
            assert_eq!(
                rotate(
                    &key(),
                    &present(&store, 0),
                    stored,
                    Some(RevokeReason::Ended),
                    user,
                    T0 + 11,
                    &POLICY
                ),
                Rotation::Refused {
                    reason: RefreshRejection::Revoked,
                    forget: false
                }
            );
        }
    }
    // Records of the first layout carry their revocation inside; they are still honoured.
    let old_layout = Family {
        revoked: Some(RevokeReason::Reuse),
        ..store.clone()
    };
    assert!(matches!(
        rotate(
            &key(),
            &present(&store, 0),
            Some(&old_layout),
            None,
            Some(&LIVE),
            T0 + 11,
            &POLICY
        ),
        Rotation::Refused {
            reason: RefreshRejection::Revoked,
            ..
        }
    ));
    // A marker outlives every token of the family, and is never kept for less than KV takes.
    assert_eq!(
        Family::revocation_expiration(store.created_at, &POLICY, T0 + 10),
        T0 + POLICY.absolute_ttl_s
    );
    assert_eq!(
        Family::revocation_expiration(T0 - POLICY.absolute_ttl_s, &POLICY, T0),
        T0 + MIN_STORAGE_TTL_S
    );
    assert!(Family::revocation_expiration(store.created_at, &POLICY, T0) >= store.ends_at(&POLICY));
    // A kept session (a password change's own) survives the epoch that ends the others.
    let after_change = SessionState {
        epoch: 1,
        kept: Some(tollgate_core::store::records::KeptSession {
            family: store.id,
            epoch: 0,
        }),
    };
    assert!(matches!(
        rotate(
            &key(),
            &present(&store, 0),
            Some(&store),
            None,
            Some(&after_change),
            SETTLED,
            &POLICY
        ),
        Rotation::Advanced { .. }
    ));
}

#[wasm_bindgen_test(unsupported = test)]
fn storage_expiration_follows_the_earlier_end_but_never_under_kv_minimum() {
    let store = login();
    assert_eq!(
        store.storage_expiration(&POLICY, T0),
        T0 + POLICY.idle_ttl_s
    );
    let ending_soon = Family {
        expires_at: T0 + 10,
        ..store.clone()
    };
    assert_eq!(
        ending_soon.storage_expiration(&POLICY, T0),
        T0 + MIN_STORAGE_TTL_S
    );
    // KV refuses under 60 s by its own clock, which runs up to a second (plus the request's
    // duration) ahead of the whole-second `now` a request reads at its start.
    const { assert!(MIN_STORAGE_TTL_S > 60) };
    assert_eq!(store.remaining_s(T0 + 100), POLICY.absolute_ttl_s - 100);
}

#[wasm_bindgen_test(unsupported = test)]
fn user_agents_are_stripped_of_control_characters_and_truncated() {
    let mut rng = SeededRandom::new(1);
    let ua = format!("Evil\r\nSet-Cookie: x{}", "A".repeat(1000));
    let f = Family::start(Id::generate(&mut rng), 0, &ua, T0, &POLICY, &mut rng);
    assert!(!f.user_agent.contains('\r') && !f.user_agent.contains('\n'));
    assert_eq!(f.user_agent.chars().count(), 256);
}

/// No sequence of presented tokens, at any times, against fresh or stale copies of the
/// record, ever yields two different successors for one generation.
mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[derive(Clone, Debug)]
    struct Step {
        /// How far behind the newest generation the presented token is (0 = newest), or, if
        /// `ahead`, a token of a generation another location has already reached.
        behind: u32,
        ahead: bool,
        /// Seconds since the previous step.
        dt: u64,
        /// Read a stale copy of the record (one of the older versions) instead of the newest.
        stale: Option<usize>,
    }

    fn step() -> impl Strategy<Value = Step> {
        (
            0u32..4,
            any::<bool>(),
            prop_oneof![0u64..5, 0u64..60, 0u64..100_000],
            prop::option::of(0usize..8),
        )
            .prop_map(|(behind, ahead, dt, stale)| Step {
                behind,
                ahead: ahead && behind == 0,
                dt,
                stale,
            })
    }

    proptest! {
        // No regression files: the wasm run has no filesystem, and failures print their input.
        #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]
        #[wasm_bindgen_test(unsupported = test)]
        fn one_successor_per_generation(steps in prop::collection::vec(step(), 1..40)) {
            let mut history = vec![login()]; // every version ever written, newest last
            let mut issued_max = 0u32; // the newest generation any location handed out
            let mut successors: HashMap<u32, String> = HashMap::new();

            let mut now = T0;
            for s in steps {
                now += s.dt;
                let newest = history.last().unwrap().clone();
                let view = match s.stale { Some(i) if i < history.len() => history[i].clone(), _ => newest.clone() };
                let presented_gen = if s.ahead { issued_max } else { issued_max.saturating_sub(s.behind) };
                let decision = rotate(&key(), &present(&newest, presented_gen), Some(&view), None, Some(&LIVE), now, &POLICY);
                match decision {
                    Rotation::Advanced { family, token } => {
                        prop_assert_eq!(family.generation, presented_gen + 1);
                        let prev = successors.entry(presented_gen).or_insert_with(|| token.clone());
                        prop_assert_eq!(&*prev, &token, "two successors for generation {}", presented_gen);
                        issued_max = issued_max.max(family.generation);
                        history.push(family);
                    }
                    Rotation::Replayed { token } => {
                        prop_assert_eq!(view.generation, presented_gen + 1);
                        let prev = successors.entry(presented_gen).or_insert_with(|| token.clone());
                        prop_assert_eq!(&*prev, &token, "replay differs for generation {}", presented_gen);
                    }
                    Rotation::ReuseDetected { family } => {
                        prop_assert!(family.revoked.is_some());
                        history.push(family);
                    }
                    Rotation::Refused { .. } => {}
                }
            }
        }

        #[wasm_bindgen_test(unsupported = test)]
        fn a_revoked_family_never_hands_out_a_token_again(gens in prop::collection::vec(0u32..6, 1..20)) {
            let mut store = login();
            store.generation = 5;
            store.revoked = Some(RevokeReason::Reuse);
            for g in gens {
                let d = rotate(&key(), &present(&store, g), Some(&store), None, Some(&LIVE), T0 + 1, &POLICY);
                prop_assert_eq!(d, Rotation::Refused { reason: RefreshRejection::Revoked, forget: false });
            }
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_revocation_marker_stores_the_same_word_as_older_family_records() {
    // Markers hold the bare word (README, "Storage"); family records of the first layout held
    // it as their `revoked` field. Both are the serde form, so an operator reads one vocabulary.
    for reason in [RevokeReason::Reuse, RevokeReason::Ended] {
        let word = reason.as_str();
        assert_eq!(serde_json::to_value(reason).unwrap(), word);
        assert_eq!(
            tollgate_core::store::records::revocation_reason(word),
            Ok(reason)
        );
        assert_eq!(
            tollgate_core::store::records::revocation_reason(&format!(" {word}\n")),
            Ok(reason)
        );
    }
    for bad in ["", "revoked", "\"ended\"", "Ended"] {
        assert!(
            tollgate_core::store::records::revocation_reason(bad).is_err(),
            "{bad}"
        );
    }
}
