//! A small pharmacy for the stock tests, on top of `ward.rs`'s clinic: a pharmacist, three
//! stores (main, the pharmacy counter, the lab), a supplier, stock items for amoxicillin
//! (capsules, packs of 10, 5.00 each, 12% tax) and paracetamol (tablets, packs of 10, 2.00
//! each) from the medicine list and a lab reagent. Times are pinned from 2026-12-06 10:00 UTC.
#![allow(dead_code)]

use super::common;
use super::ward::{auth, sign_in, ward, Ward};
use chrono::{DateTime, Duration, TimeZone, Utc};
use hms_core::clinical::{prescribing, visits, PrescriptionInput, VisitInput};
use hms_core::stock::{
    receiving, setup, ReceiptInput, ReceiptLineInput, StockItemInput, StockStoreInput, SupplierInput,
};
use hms_core::Authorized;

pub const AMOX_PRICE: i64 = 500;
pub const PARA_PRICE: i64 = 200;

pub struct Pharmacy {
    pub w: Ward,
    pub t0: DateTime<Utc>,
    pub admin: Authorized,
    pub pharmacist: Authorized,
    pub lab: Authorized,
    pub doctor: Authorized,
    pub nurse: Authorized,
    pub main: String,
    pub counter: String,
    pub lab_store: String,
    pub supplier: String,
    pub amox: String,
    pub para: String,
    pub reagent: String,
}

impl Pharmacy {
    pub fn at(&self, days: i64) {
        self.w.env.store.set_now(Some(self.t0 + Duration::days(days)));
    }

    /// Receives `units` loose units of a batch into a store; answers the batch.
    pub async fn receive(&self, store: &str, item: &str, batch: &str, expiry: &str, units: u32) -> String {
        let input = ReceiptInput {
            store_id: store.into(),
            supplier_id: Some(self.supplier.clone()),
            invoice_no: "INV-1".into(),
            note: String::new(),
            lines: vec![ReceiptLineInput {
                item_id: item.into(),
                batch_no: batch.into(),
                expiry: expiry.into(),
                units,
                ..Default::default()
            }],
        };
        receiving::receive(&self.w.env.store, &self.pharmacist, input).await.unwrap().batch_ids[0].clone()
    }

    /// The doctor prescribes a medicine for `days` days (in a new visit); answers the prescription.
    pub async fn prescribe(&self, medicine: &str, days: Option<i32>) -> String {
        let s = &self.w.env.store;
        let visit = visits::start_visit(
            s,
            &self.doctor,
            VisitInput { patient_id: self.w.patient.clone(), ..Default::default() },
        )
        .await
        .unwrap()
        .id;
        let rx = PrescriptionInput {
            medicine_id: medicine.into(),
            dose: "1".into(),
            dose_unit: "capsule".into(),
            frequency: "1-1-1".into(),
            duration_days: days,
            override_reason: Some("checked".into()),
            ..Default::default()
        };
        prescribing::prescribe(s, &self.doctor, &visit, rx).await.unwrap().id
    }
}

pub async fn pharmacy() -> Pharmacy {
    let w = ward().await;
    let t0 = Utc.with_ymd_and_hms(2026, 12, 6, 10, 0, 0).unwrap();
    let s = &w.env.store;
    // Every session is authorized before the clock is pinned (a jump of hours locks a
    // session; what an `Authorized` allows stays the same).
    common::add_user(s, &w.admin, "ph.iyer", &["pharmacist"]).await;
    let pharmacist = auth(s, &sign_in(s, "ph.iyer").await).await;
    let admin = auth(s, &w.admin).await;
    let (lab, doctor, nurse) = (auth(s, &w.lab).await, auth(s, &w.doctor).await, auth(s, &w.nurse).await);
    s.set_now(Some(t0));
    let store = |name: &str, kind: &str| StockStoreInput { name: name.into(), kind: kind.into() };
    let main = setup::add_store(s, &admin, store("Main store", "main")).await.unwrap().id;
    let counter = setup::add_store(s, &pharmacist, store("Pharmacy counter", "pharmacy")).await.unwrap().id;
    let lab_store = setup::add_store(s, &admin, store("Lab", "lab")).await.unwrap().id;
    let supplier = setup::add_supplier(
        s,
        &pharmacist,
        SupplierInput { name: "Medline Distributors".into(), tax_no: "29ABCDE1234F1Z5".into(), ..Default::default() },
    )
    .await
    .unwrap()
    .id;
    let medicine = |medicine: &str, unit: &str, price: i64, tax: u32| StockItemInput {
        kind: "medicine".into(),
        medicine_id: Some(medicine.into()),
        pack_size: 10,
        unit: unit.into(),
        reorder_level: 50,
        tax_rate_bp: tax,
        sale_price_minor: price,
        ..Default::default()
    };
    let amox = setup::add_item(s, &pharmacist, medicine(&w.amoxicillin, "capsule", AMOX_PRICE, 1200)).await.unwrap().id;
    let para = setup::add_item(s, &pharmacist, medicine(&w.paracetamol, "tablet", PARA_PRICE, 0)).await.unwrap().id;
    let reagent = setup::add_item(
        s,
        &admin,
        StockItemInput {
            kind: "lab_consumable".into(),
            generic_name: "Drabkin's reagent".into(),
            pack_size: 1,
            unit: "ml".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id;
    Pharmacy { w, t0, admin, pharmacist, lab, doctor, nurse, main, counter, lab_store, supplier, amox, para, reagent }
}
