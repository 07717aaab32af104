"""Cases and their messages: the heart of the desk."""
