"""Results spoken into the reply audio: synthesiser, Ogg page rewriting, mixer, speaker."""
