//! Staff accounts (administrators).

use super::Cmd;
use crate::AppState;
use hms_core::users::{self, NewUser, UserSummary, UserUpdate};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn list_users(state: State<'_, AppState>) -> Cmd<Vec<UserSummary>> {
    let auth = state.session.authorize(&state.store).await?;
    users::list(&state.store, &auth).await
}

#[tauri::command]
#[specta::specta]
pub async fn create_user(state: State<'_, AppState>, input: NewUser) -> Cmd<UserSummary> {
    let auth = state.session.authorize(&state.store).await?;
    users::create(&state.store, &auth, input).await
}

#[tauri::command]
#[specta::specta]
pub async fn update_user(state: State<'_, AppState>, input: UserUpdate) -> Cmd<UserSummary> {
    let auth = state.session.authorize(&state.store).await?;
    users::update(&state.store, &auth, input).await
}

#[tauri::command]
#[specta::specta]
pub async fn set_user_active(state: State<'_, AppState>, user_id: String, active: bool) -> Cmd<UserSummary> {
    let auth = state.session.authorize(&state.store).await?;
    users::set_active(&state.store, &auth, &user_id, active).await
}

#[tauri::command]
#[specta::specta]
pub async fn reset_password(state: State<'_, AppState>, user_id: String, new_password: String) -> Cmd<()> {
    let auth = state.session.authorize(&state.store).await?;
    users::reset_password(&state.store, &auth, &user_id, &new_password).await
}

#[tauri::command]
#[specta::specta]
pub async fn unlock_user(state: State<'_, AppState>, user_id: String) -> Cmd<UserSummary> {
    let auth = state.session.authorize(&state.store).await?;
    users::unlock(&state.store, &auth, &user_id).await
}

/// The signed-in user changes their own password (any role): the session goes on.
#[tauri::command]
#[specta::specta]
pub async fn change_own_password(
    state: State<'_, AppState>,
    old_password: String,
    new_password: String,
) -> Cmd<hms_core::SessionInfo> {
    users::change_own_password(&state.store, &state.session, &old_password, &new_password).await
}
