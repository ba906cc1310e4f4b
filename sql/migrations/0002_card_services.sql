-- medsettle schema, part 2: card services and the electronic social security card.

-- A person-level event (a name or ID number change) may concern no particular card.
ALTER TABLE card_event ALTER COLUMN card_no DROP NOT NULL;
CREATE INDEX card_event_person ON card_event (person_id, id);

-- E-card payment QR tokens that have been used. A token is single use across every engine
-- process sharing this database: the row is written in the same transaction as the settlement,
-- admission or discharge that presents the token, so a refused request does not burn it.
-- `token_id` is the token's random nonce; rows past `expires_at` can be deleted at any time
-- (an expired token is refused before this table is consulted).
CREATE TABLE qr_use (
    token_id   bytea PRIMARY KEY CHECK (octet_length(token_id) = 12),
    card_no    text NOT NULL REFERENCES card (card_no),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX qr_use_expires ON qr_use (expires_at);
