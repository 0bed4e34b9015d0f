"""captionary's indexer: crawl photo folders, caption them with an image-to-text model, store the results."""
