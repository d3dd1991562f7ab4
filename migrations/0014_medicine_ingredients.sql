-- Safe prescribing by ingredient and class (issue 20): a medicine names its active
-- ingredients and an allergy the substance or class it is recorded against, both as ids of
-- the drug reference data shipped with the app (crates/core/assets/drugs). Synced columns.
-- Append-only: once landed, never edit this file; add a new migration instead.

-- JSON array of substance ids: ["sulfamethoxazole", "trimethoprim"]; [] = not known (the
-- allergy check then reads the medicine's name).
ALTER TABLE medicines ADD COLUMN ingredients TEXT NOT NULL DEFAULT '[]';
-- The usual adult dose, as the formulary gives it ("500 mg every 8 hours"); '' when none.
ALTER TABLE medicines ADD COLUMN usual_dose TEXT NOT NULL DEFAULT '';

-- "substance:<id>" or "class:<id>"; NULL for an allergy written as free text.
ALTER TABLE allergies ADD COLUMN allergen TEXT;
