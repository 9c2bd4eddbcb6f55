"""The Music panel: piano roll, next-event distribution grouped by type, attention arcs, primer and playback."""
