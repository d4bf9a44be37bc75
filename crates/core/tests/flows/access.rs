//! `ACCESS_TOKEN_REVOCATION` (issue 13 §5): with `session`, a token whose session ended is
//! refused by every bearer flow, at the cost of one read; with `expiry`, nothing is read.

use super::*;
use tollgate_core::flows::AccessTokenRevocation;
use tollgate_core::store::ended_sessions::MAX_ENDED_SESSIONS;

fn revoking_world(email: &str) -> (World, Tokens) {
    let (mut w, tokens) = signed_in(email);
    w.auth.config.access_token_revocation = AccessTokenRevocation::Session;
    (w, tokens)
}

fn check(w: &World, tokens: &Tokens) -> Result<(), Error> {
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.check_access(&w.principal(tokens)))
}

#[wasm_bindgen_test(unsupported = test)]
fn the_check_is_one_read_with_session_and_none_with_expiry() {
    let (mut w, tokens) = signed_in("sam@example.com");
    w.store.clear_operations();
    assert_eq!(check(&w, &tokens), Ok(()));
    assert_eq!(w.store.operations(), [], "expiry reads nothing");
    w.auth.config.access_token_revocation = AccessTokenRevocation::Session;
    assert_eq!(check(&w, &tokens), Ok(()));
    assert_eq!(w.store.operations(), [Op::GetUser], "session: one read");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_logout_refuses_the_sessions_access_tokens_and_no_other() {
    let (mut w, tokens) = revoking_world("sam@example.com");
    let other = w.login("sam@example.com", PASSWORD).unwrap();
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.logout(Some(&tokens.refresh_token), T0 + 1)).unwrap();
    assert_eq!(
        check(&w, &tokens),
        Err(Error::InvalidToken(TokenRejection::SessionRevoked))
    );
    assert_eq!(check(&w, &other), Ok(()));
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(
        run(flows.me(&w.principal(&tokens))).map(|_| ()),
        Err(Error::InvalidToken(TokenRejection::SessionRevoked)),
        "the profile reads the record the decisions see"
    );
    assert_eq!(
        run(flows.logout_all(&w.principal(&tokens), T0 + 2)),
        Err(Error::InvalidToken(TokenRejection::SessionRevoked)),
        "a logged-out token cannot end the other sessions"
    );
    assert_eq!(check(&w, &other), Ok(()));
}

#[wasm_bindgen_test(unsupported = test)]
fn with_expiry_a_logout_writes_only_its_marker() {
    let (w, tokens) = signed_in("sam@example.com");
    w.store.clear_operations();
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.logout(Some(&tokens.refresh_token), T0 + 1)).unwrap();
    assert_eq!(w.store.operations(), [Op::RevokeFamily]);
    assert_eq!(check(&w, &tokens), Ok(()), "the token-only window");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_revoked_session_and_reuse_detection_refuse_access_tokens() {
    let (mut w, tokens) = revoking_world("sam@example.com");
    let other = w.login("sam@example.com", PASSWORD).unwrap();
    let flows = w.auth.flows(&w.store, &w.events);
    let p = w.principal(&tokens);
    run(flows.revoke_session_at(&p, &other.session_id.to_hyphenated(), T0 + 1)).unwrap();
    assert_eq!(
        check(&w, &other),
        Err(Error::InvalidToken(TokenRejection::SessionRevoked))
    );
    assert_eq!(check(&w, &tokens), Ok(()));

    // A replay of the first refresh token after the grace window revokes the family.
    let next = w.refresh(&tokens.refresh_token, T0 + 2).unwrap();
    let grace = w.auth.config.refresh.reuse_grace_s;
    assert_eq!(
        w.refresh(&tokens.refresh_token, T0 + 3 + grace),
        Err(Error::RefreshTokenReused)
    );
    assert_eq!(
        check(&w, &next),
        Err(Error::InvalidToken(TokenRejection::SessionRevoked)),
        "the thief's and the victim's access tokens of the family end with it"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn an_ending_is_listed_until_its_tokens_expire_and_no_longer() {
    let (mut w, tokens) = revoking_world("sam@example.com");
    let user_id = w.principal(&tokens).user_id;
    let id = tollgate_core::id::Id::parse(&user_id).unwrap();
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.logout(Some(&tokens.refresh_token), T0 + 1)).unwrap();
    let record = run(w.store.get_user(&id)).unwrap().unwrap();
    let token = w.auth.config.token.clone();
    assert_eq!(record.ended_sessions.len(), 1);
    assert_eq!(
        record.ended_sessions[0].until,
        T0 + 1 + token.ttl_s + token.leeway_s
    );
    // Any later change drops it once its time has passed.
    let later = w.login("sam@example.com", PASSWORD).unwrap();
    let flows = w.auth.flows(&w.store, &w.events);
    let at = T0 + 2 + token.ttl_s + token.leeway_s;
    run(flows.logout(Some(&later.refresh_token), at)).unwrap();
    let record = run(w.store.get_user(&id)).unwrap().unwrap();
    assert_eq!(
        record
            .ended_sessions
            .iter()
            .map(|e| e.family)
            .collect::<Vec<_>>(),
        [later.session_id]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn too_many_endings_at_once_end_every_session_rather_than_forget_one() {
    let (mut w, first) = revoking_world("sam@example.com");
    let mut sessions = vec![first];
    for _ in 0..MAX_ENDED_SESSIONS {
        sessions.push(w.login("sam@example.com", PASSWORD).unwrap());
    }
    let survivor = w.login("sam@example.com", PASSWORD).unwrap();
    for (i, s) in sessions.iter().enumerate() {
        let flows = w.auth.flows(&w.store, &w.events);
        run(flows.logout(Some(&s.refresh_token), T0 + 10 + i as u64)).unwrap();
    }
    for s in &sessions {
        assert!(check(&w, s).is_err(), "every ended session stays refused");
    }
    assert_eq!(
        check(&w, &survivor),
        Err(Error::InvalidToken(TokenRejection::SessionEnded)),
        "the overflow ended every session"
    );
    let id = tokens_user(&w.principal(&survivor));
    let record = run(w.store.get_user(&id)).unwrap().unwrap();
    assert!(record.ended_sessions.len() <= MAX_ENDED_SESSIONS);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_record_listing_endings_reads_back_and_one_without_them_has_no_field() {
    let (w, tokens) = revoking_world("sam@example.com");
    let id = tokens_user(&w.principal(&tokens));
    let plain = run(w.store.get_user(&id)).unwrap().unwrap();
    assert!(
        !serde_json::to_string(&plain)
            .unwrap()
            .contains("ended_sessions")
    );
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.logout(Some(&tokens.refresh_token), T0 + 1)).unwrap();
    let listed = run(w.store.get_user(&id)).unwrap().unwrap();
    let json = serde_json::to_string(&listed).unwrap();
    assert!(json.contains("\"ended_sessions\":[{\"family\":"), "{json}");
    assert_eq!(serde_json::from_str::<UserRecord>(&json).unwrap(), listed);
}
