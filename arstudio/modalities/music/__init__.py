"""The music modality: performance events (388 ids) in time order, exported as MIDI with the recipe inside, or WAV.

What is here, all GUI-free: the event vocabulary and MIDI in and out with mido (``events``), the
data sets bach-chorales and scales (``data``, ``chorales``), rendering to sound with fluidsynth or
a small synthesizer (``render``), the file formats and a person's MIDI as a primer (``files``) and
the halves of ``arstudio sample`` / ``eval`` (``cli``). The panel is ``arstudio.qt.modalities.music``.
"""

from __future__ import annotations

from arstudio.core.modality import FileFormat, Modality
from arstudio.modalities.music.cli import add_cli_args, eval_music, sample_music
from arstudio.modalities.music.events import (EVENT_RANGES, VOCAB, Note, event_label, event_labels, event_type,
                                              events_to_notes, notes_to_events)
from arstudio.modalities.music.midi import events_to_midi, midi_to_events
from arstudio.modalities.music.files import (import_midi, read_midi_recipe_fields, set_event_labels,
                                             write_midi_samples, write_wav_samples)
from arstudio.modalities.music.render import render_audio

__all__ = ["EVENT_RANGES", "MODALITY", "VOCAB", "Note", "event_label", "event_labels", "event_type", "events_to_midi",
           "events_to_notes", "midi_to_events", "notes_to_events", "render_audio"]

MODALITY = Modality(
    name="music",
    title="Music",
    step_unit="event",
    example_unit="window",
    formats=(FileFormat((".mid", ".midi"), "MIDI file", write_midi_samples, read_midi_recipe_fields),
             FileFormat((".wav",), "Rendered audio (WAV)", write_wav_samples, None)),
    conditioning=("primer",),
    add_cli_args=add_cli_args,
    sample_cli=sample_music,
    eval_cli=eval_music,
    import_file=import_midi,
    on_load=set_event_labels,
    panel="arstudio.qt.modalities.music.panel:MusicPanel",
)
