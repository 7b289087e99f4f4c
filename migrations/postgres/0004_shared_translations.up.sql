-- Translations are paid once and shared: the translated text lives only in `translations` (keyed by
-- content hash, language and model); a reader's row in `user_chapter_translations` records the
-- request and when its access expires, not a private copy of the text.
ALTER TABLE user_chapter_translations DROP COLUMN translated_content;
CREATE INDEX translations_chapter ON translations (chapter_id, language);
