"""Views draw and report mouse gestures; they decide nothing (panels and controllers do)."""
