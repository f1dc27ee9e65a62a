//! Tauri's build step: the app's context (config, icons, the console from `../ui/build`) and
//! the permissions of the app's own commands, so capabilities can grant exactly those.

fn main() {
    let manifest =
        tauri_build::AppManifest::new().commands(&["admin_request", "save_download", "quit"]);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        eprintln!("tauri build step failed: {e:#}");
        std::process::exit(1);
    }
}
