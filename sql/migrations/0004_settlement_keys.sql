-- medsettle schema, part 4: fewer, stronger foreign keys on the settlement hot path.
--
-- A settlement row referenced its terminal, institution, person and card with four separate
-- keys: four referential checks per row. Two composite keys check more with half the work:
-- the institution must be the terminal's own, and the person must be the card's holder.

ALTER TABLE terminal ADD CONSTRAINT terminal_id_institution_key UNIQUE (id, institution);
ALTER TABLE card ADD CONSTRAINT card_no_person_key UNIQUE (card_no, person_id);

ALTER TABLE settlement
    DROP CONSTRAINT settlement_terminal_fkey,
    DROP CONSTRAINT settlement_institution_fkey,
    DROP CONSTRAINT settlement_person_id_fkey,
    DROP CONSTRAINT settlement_card_no_fkey,
    ADD CONSTRAINT settlement_terminal_fkey FOREIGN KEY (terminal, institution) REFERENCES terminal (id, institution),
    ADD CONSTRAINT settlement_card_fkey FOREIGN KEY (card_no, person_id) REFERENCES card (card_no, person_id);
