-- Every registration and new version takes the next number, so sensors can follow intake with a cursor.
CREATE SEQUENCE document_intake_seq;
ALTER TABLE documents ADD COLUMN intake_seq bigint NOT NULL DEFAULT nextval('document_intake_seq');
CREATE INDEX documents_intake_seq ON documents (intake_seq);
