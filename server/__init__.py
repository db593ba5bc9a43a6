"""trimtab server side: the command line now; the Flask application, persistence and jobs as
they arrive.  Kept import-light so `trimtab check` starts fast."""
