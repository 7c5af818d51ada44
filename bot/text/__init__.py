"""What people read and write: the message models, their plain-text rendering, the
command language, the App Home's model."""
