"""GitOps overlays: their image pins, and edits to them."""
