"""The studio: app, main window, generation worker, panels (one per modality) and views (plots)."""
