"""PostgreSQL full-text search of messages (issue 15): a trigger fills ``Message.search_vector``
in the conversation's language's text-search configuration, and a GIN index serves the search.

The language → configuration table is ``conversations.search.SEARCH_CONFIGS``; a test checks that
``conversation_search_config`` here answers the same. SQLite keeps the column empty (its search
is a plain ``icontains``), so these statements run on PostgreSQL only.
"""

from django.db import migrations

FORWARD = [
    """
    CREATE OR REPLACE FUNCTION conversation_search_config(language text) RETURNS regconfig
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE split_part(lower(coalesce(language, '')), '-', 1)
            WHEN 'en' THEN 'english'
            WHEN 'fr' THEN 'french'
            WHEN 'id' THEN 'indonesian'
            WHEN 'ro' THEN 'romanian'
            ELSE 'simple'
        END::regconfig
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION message_search_vector_fill() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_vector := to_tsvector(
            conversation_search_config(
                (SELECT language FROM conversations_conversation WHERE id = NEW.conversation_id)
            ),
            NEW.text
        );
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER message_search_vector_fill
    BEFORE INSERT OR UPDATE OF text ON conversations_message
    FOR EACH ROW EXECUTE FUNCTION message_search_vector_fill()
    """,
    """
    UPDATE conversations_message AS message
    SET search_vector = to_tsvector(conversation_search_config(conversation.language), message.text)
    FROM conversations_conversation AS conversation
    WHERE conversation.id = message.conversation_id
    """,
    "CREATE INDEX message_search_vector ON conversations_message USING gin (search_vector)",
]

BACKWARD = [
    "DROP INDEX IF EXISTS message_search_vector",
    "DROP TRIGGER IF EXISTS message_search_vector_fill ON conversations_message",
    "DROP FUNCTION IF EXISTS message_search_vector_fill()",
    "DROP FUNCTION IF EXISTS conversation_search_config(text)",
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("conversations", "0019_tags_and_read_markers")]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD))]
