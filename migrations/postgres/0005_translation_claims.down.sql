DROP TABLE translation_claims;
