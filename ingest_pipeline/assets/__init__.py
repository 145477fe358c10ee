"""The document assets: raw_document → parsed_text → validated_content → chunks → embeddings."""
