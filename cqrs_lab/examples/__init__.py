"""Worked examples built on the core; the core never imports them."""
