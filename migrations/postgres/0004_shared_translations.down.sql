DROP INDEX translations_chapter;
ALTER TABLE user_chapter_translations ADD COLUMN translated_content TEXT NOT NULL DEFAULT '';
UPDATE user_chapter_translations SET translated_content = COALESCE((
    SELECT t.content FROM translations t
    WHERE t.content_hash = user_chapter_translations.content_hash AND t.language = user_chapter_translations.language
    ORDER BY t.created_at DESC LIMIT 1
), '');
