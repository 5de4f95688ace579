"""Getting camera material into object storage and onto the event clock."""
