//! The two-device end-to-end check: a reception desk (the app's device: a core store in its
//! own data directory, written through the same core calls the app's commands make) and a
//! headless device (another core store) against one hms-server on a real PostgreSQL. A patient
//! registered on one appears on the other, found by search, and an edit travels back.
//!
//! The app's Tauri command layer is not driven here: it has no sync commands yet, and its
//! IPC tests live in the root package, which does not start PostgreSQL. The commands are thin
//! (session -> one core call), so the core calls below are what they would run.

mod common;

use common::device::Device;
use common::TestServer;
use hms_core::patients::{self, PatientInput};
use hms_core::sync;

const TENANT: &str = "Two Device Clinic";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patient_registered_on_one_device_appears_on_the_other() {
    let server = TestServer::start().await;
    hms_server::admin::create_tenant(server.store(), TENANT).await.unwrap();
    let app = Device::new("admin").await;
    let headless = Device::new("ward.admin").await;
    app.enrol(server.store(), &server.base, TENANT, "Reception PC").await;
    headless.enrol(server.store(), &server.base, TENANT, "Ward server").await;

    let input = PatientInput {
        given_name: "Neema".into(),
        family_name: "Kimaro".into(),
        sex: "female".into(),
        birth_date: Some("1988-02-29".into()),
        phones: vec!["+255 713 555 010".into()],
        ..Default::default()
    };
    let p = patients::register(&app.store, &app.auth().await, input).await.unwrap();
    sync::sync_now(&app.store).await.unwrap();
    sync::sync_now(&headless.store).await.unwrap();

    let auth = headless.auth().await;
    let hits = patients::search(&headless.store, &auth, "neema kim", 10).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), [p.id.as_str()]);
    let there = patients::open(&headless.store, &auth, &p.id).await.unwrap();
    assert_eq!((there.mrn.as_str(), there.phones.clone()), (p.mrn.as_str(), p.phones.clone()));

    // And back: the headless device corrects the name; the desk sees it.
    let mut fix = PatientInput {
        given_name: "Neema".into(),
        family_name: "Kimaro-Massawe".into(),
        sex: "female".into(),
        birth_date: there.birth_date.clone(),
        phones: there.phones.clone(),
        ..Default::default()
    };
    fix.other_names = there.other_names.clone();
    patients::update(&headless.store, &auth, &p.id, fix).await.unwrap();
    sync::sync_now(&headless.store).await.unwrap();
    sync::sync_now(&app.store).await.unwrap();
    let back = patients::open(&app.store, &app.auth().await, &p.id).await.unwrap();
    assert_eq!(back.family_name, "Kimaro-Massawe");
    assert_eq!(app.scalar("SELECT count(*) FROM sync_conflicts").await, 0);
    assert_eq!(sync::status(&app.store).await.unwrap().pending, 0);
    assert_eq!(sync::status(&headless.store).await.unwrap().pending, 0);
}

/// Printouts are local to the device that printed them (the file is only there): a merge made
/// on another device and pulled here moves this device's printouts of the merged record to
/// the survivor, and nothing of them goes to the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pulled_merge_moves_this_devices_printouts_to_the_survivor() {
    use hms_core::printouts::{self, PrintoutsOf};
    let server = TestServer::start().await;
    hms_server::admin::create_tenant(server.store(), TENANT).await.unwrap();
    let desk = Device::new("admin").await;
    let ward = Device::new("ward.admin").await;
    desk.enrol(server.store(), &server.base, TENANT, "Reception PC").await;
    ward.enrol(server.store(), &server.base, TENANT, "Ward PC").await;
    let person = |family: &str, phone: &str| PatientInput {
        given_name: "Baraka".into(),
        family_name: family.into(),
        sex: "male".into(),
        phones: vec![phone.into()],
        ..Default::default()
    };
    let a = desk.auth().await;
    let survivor = patients::register(&desk.store, &a, person("Mushi", "+255 713 555 020")).await.unwrap();
    let merged = patients::register(&desk.store, &a, person("Mushy", "+255 713 555 021")).await.unwrap();
    sync::sync_now(&desk.store).await.unwrap();
    sync::sync_now(&ward.store).await.unwrap();

    // The ward prints the duplicate's ID card; only the ward has the printout.
    let w = ward.auth().await;
    let card = patients::card::id_card(&ward.store, &w, &merged.id).await.unwrap();
    sync::sync_now(&ward.store).await.unwrap();
    assert_eq!(desk.scalar("SELECT count(*) FROM printouts").await, 0, "printouts never sync");

    // The desk merges the duplicate; the ward pulls the merge and the card follows the record.
    patients::merge(&desk.store, &a, &survivor.id, &merged.id, "same person, typo").await.unwrap();
    sync::sync_now(&desk.store).await.unwrap();
    sync::sync_now(&ward.store).await.unwrap();
    let listed = printouts::list(&ward.store, &w, &PrintoutsOf::Patient(survivor.id.clone())).await.unwrap();
    assert_eq!(listed.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), [card.printout.id.as_str()]);
    assert!(printouts::list(&ward.store, &w, &PrintoutsOf::Patient(merged.id.clone())).await.unwrap().is_empty());
    assert_eq!(ward.scalar("SELECT count(*) FROM sync_conflicts").await, 0);
    assert_eq!(sync::status(&ward.store).await.unwrap().pending, 0);
}
