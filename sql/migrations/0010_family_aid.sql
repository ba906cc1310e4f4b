-- medsettle schema, part 10: family mutual aid (RULES.md §9).
--
-- An employee's or retiree's personal account (the payer) may pay for close relatives (the
-- members). A binding is a row of `family_binding`; it stands while `ended_at` is NULL. Ending
-- one (FAMILYUNBIND, or the payer's insurance ending) keeps the row, with when and why, so the
-- record of who could pay for whom is never lost. A member has at most one standing payer (the
-- unique index); a payer has at most 10 standing members (checked by the engine with the payer's
-- row locked: FAMILYBIND and FAMILYUNBIND lock both persons, a card cancellation the payer whose
-- bindings it ends).
--
-- A settlement whose member was paid for records the payer (`aid_payer`): a cancel or reversal
-- gives `aid` back to that account, whatever has happened to the binding since.

CREATE TABLE family_binding (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payer_id    bigint NOT NULL REFERENCES person (id),
    member_id   bigint NOT NULL REFERENCES person (id),
    relation    text NOT NULL CHECK (relation IN ('spouse', 'parent', 'child')),
    terminal    text NOT NULL,
    agent_id    text,
    bound_at    timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz,
    ended_by    text CHECK (ended_by IN ('unbound', 'insurance_ended')),
    CHECK (payer_id <> member_id),
    CHECK ((ended_at IS NULL) = (ended_by IS NULL))
);
CREATE UNIQUE INDEX family_binding_standing_member ON family_binding (member_id) WHERE ended_at IS NULL;
CREATE INDEX family_binding_standing_payer ON family_binding (payer_id) WHERE ended_at IS NULL;

-- NOT VALID: the rows written before this migration all hold aid = 0 and no payer, so they meet
-- the constraints; proving it would scan the whole table while ALTER TABLE holds its exclusive
-- lock, and migrations run on live databases. New and updated rows are checked.
ALTER TABLE settlement
    ADD COLUMN aid_payer bigint,
    ADD CONSTRAINT settlement_aid_payer_fkey FOREIGN KEY (aid_payer) REFERENCES person (id) NOT VALID,
    ADD CONSTRAINT settlement_aid_has_payer CHECK (aid = 0 OR aid_payer IS NOT NULL) NOT VALID,
    ADD CONSTRAINT settlement_aid_payer_is_another CHECK (aid_payer <> person_id) NOT VALID;
