"""Name recognition: are service and program names heard, on espeak-ng voices at two speeds?

Run: ``PYTHONPATH=. nice -n 10 .venv/bin/python bench/bench_names.py`` (≈5–15 min on 2 shared
cores).  Prints a table and writes ``bench/results/names.json``.

Each request ("restart engine x on web two", "is the cron service running") is spoken by
espeak-ng at two speeds, resampled to 16 kHz and heard by faster-whisper tiny.en as the speech
worker hears it: the text pass (trigger phrases as hotwords), and a second decode of the same
encoding with the known names as hotwords.  Three texts are compared, in the same run: the
text pass alone (before), the names decode on every utterance (the ``whisper_names`` setting
this replaced), and the names pass (after: the second decode only where the extractor reads a
request that names nothing, and only its name spliced into the text pass,
:mod:`proxy.listen.speech.names`).  "recognised" means the expected name is found in the text
by spelling or by sound (:func:`extraction.soundalike.find_names`, as the extractor reads it);
"wrong" means another name is found instead.  Sentences without any name count names found
where none was said.  CPU is process time of the decodes (tiny.en on one thread).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from extraction.soundalike import find_names
from proxy.listen.speech.recognisers import Recognisers
from proxy.listen.speech.settings import DEFAULT_SETTINGS
from proxy.listen.speech.transcriber import Transcriber
from proxy.listen.speech.vocabulary import known_names
from tests.voices import concat, say, silence

ROOT = Path(__file__).resolve().parents[1]

#: (name, how an operator says it) — the text espeak-ng speaks.
SPOKEN = (
    ("nginx", "engine x"),
    ("apache2", "apache"),
    ("postgresql", "postgres"),
    ("mysql", "my sequel"),
    ("mariadb", "maria d b"),
    ("redis", "redis"),
    ("docker", "docker"),
    ("cron", "cron"),
    ("haproxy", "h a proxy"),
    ("memcached", "mem cache d"),
    ("rabbitmq-server", "rabbit m q"),
    ("mongod", "mongo d b"),
    ("containerd", "container d"),
    ("kubelet", "kubelet"),
    ("grafana-server", "grafana"),
    ("prometheus", "prometheus"),
    ("node-exporter", "node exporter"),
    ("elasticsearch", "elastic search"),
    ("caddy", "caddy"),
    ("php-fpm", "p h p f p m"),
)
TEMPLATES = ("restart {n} on web two", "is the {n} service running", "check the status of {n}")
VOICES = ("en-us", "en-gb-x-rp", "en-us+f3", "en-029")
SPEEDS = (135, 185)
#: Sentences that name no service: names found in them are false.
NO_NAMES = (
    "how much disk space is left on this server",
    "is the wrong service running",
    "we will execute the plan tomorrow",
    "the council approved the new budget",
    "who is on call this weekend",
    "show me the memory usage",
    "the engineers are looking at the load average",
    "can you list the running containers",
    "the backup took forty minutes last night",
    "what is the uptime of the mail server",
    "swap usage is way too high on the staging box",
    "please check the logs for errors",
)


def pcm16(text: str, voice: str, speed: int) -> np.ndarray:
    audio = concat(silence(0.3), say(text, voice, speed), silence(0.5))
    return np.asarray(soxr.resample(audio, 24_000, 16_000), dtype=np.float32)


TEXTS = ("text_pass", "every_utterance", "names_pass")


class Hearing:
    """Both decodes of one utterance, their CPU, and what the names pass makes of them."""

    def __init__(self, recs: Recognisers, audio: np.ndarray) -> None:
        assert recs.names is not None, "the names pass is off"
        transcriber: Transcriber = recs.transcriber
        t = time.process_time()
        self.plain = transcriber.hear(audio).text
        self.plain_cpu = time.process_time() - t
        t = time.process_time()
        self.named = transcriber.hear(audio, recs.names.hotwords, once=True).text
        self.named_cpu = time.process_time() - t
        self.wanted = recs.names.wanted(self.plain)
        self.texts = dict(
            zip(
                TEXTS,
                (self.plain, self.named, recs.names.transcript_text(self.plain, self._named)),
                strict=True,
            )
        )

    def _named(self, hotwords: str) -> str:
        return self.named


def pct(xs: list[int]) -> float:
    return round(100.0 * sum(xs) / len(xs), 1) if xs else 0.0


def main() -> None:
    began = time.perf_counter()
    services = dict(known_names().services)
    recs = Recognisers.load(DEFAULT_SETTINGS)
    ok: dict[str, dict[int, list[int]]] = {t: {s: [] for s in SPEEDS} for t in TEXTS}
    wrong: dict[str, list[int]] = {t: [] for t in TEXTS}
    misses: list[str] = []
    hearings: list[Hearing] = []
    for vi, voice in enumerate(VOICES):
        for speed in SPEEDS:
            for ni, (name, spoken) in enumerate(SPOKEN):
                text = TEMPLATES[(vi + ni) % len(TEMPLATES)].format(n=spoken)
                h = Hearing(recs, pcm16(text, voice, speed))
                hearings.append(h)
                for kind, heard in h.texts.items():
                    found = {m.name for m in find_names(heard, services)}
                    ok[kind][speed].append(int(name in found))
                    wrong[kind].append(int(bool(found - {name})))
                if not ok["names_pass"][speed][-1]:
                    misses.append(f"{voice}/{speed}: {text!r} → {h.plain!r} / {h.named!r}")
    false_names = {t: 0 for t in TEXTS}
    false_examples: list[str] = []
    for voice in VOICES[:2]:
        for sentence in NO_NAMES:
            h = Hearing(recs, pcm16(sentence, voice, 160))
            hearings.append(h)
            for kind, heard in h.texts.items():
                invented = [m.name for m in find_names(heard, services)]
                false_names[kind] += len(invented)
                if invented:
                    false_examples.append(f"{kind}: {sentence!r} → {heard!r} → {invented}")
    passes = [h for h in hearings if h.wanted]
    n, pass_cpu = len(hearings), sum(h.named_cpu for h in passes)
    result: dict[str, Any] = {
        "what": __doc__.split("\n\n")[2].replace("\n", " ") if __doc__ else "",
        "voices": list(VOICES),
        "speeds": list(SPEEDS),
        "names": len(SPOKEN),
        "requests": len(VOICES) * len(SPEEDS) * len(SPOKEN),
        "recognised_pct": {t: pct([x for xs in ok[t].values() for x in xs]) for t in TEXTS},
        "recognised_pct_by_speed": {t: {str(s): pct(ok[t][s]) for s in SPEEDS} for t in TEXTS},
        "wrong_name_pct": {t: pct(wrong[t]) for t in TEXTS},
        "no_name_sentences": len(NO_NAMES) * 2,
        "names_found_in_no_name_sentences": false_names,
        "false_name_examples": false_examples,
        "names_pass_misses": misses,
        "utterances": n,
        "names_passes": len(passes),
        "text_pass_cpu_s_per_utterance": round(sum(h.plain_cpu for h in hearings) / n, 3),
        "names_pass_cpu_s_per_pass": round(pass_cpu / max(1, len(passes)), 3),
        "names_pass_extra_cpu_s_per_utterance": round(pass_cpu / n, 3),
        "names_hotwords": recs.names.hotwords if recs.names else "",
        "bench_wall_s": round(time.perf_counter() - began, 1),
        "machine": "2 shared cores, other helpers' jobs running: CPU times are noisy",
    }
    print(f"{'text':18} {'recognised':>10} {'135 wpm':>8} {'185 wpm':>8} {'wrong':>6} {'false':>6}")
    for t in TEXTS:
        by = result["recognised_pct_by_speed"][t]
        print(
            f"{t:18} {result['recognised_pct'][t]:>9}% {by['135']:>7}% {by['185']:>7}% "
            f"{result['wrong_name_pct'][t]:>5}% {false_names[t]:>6}"
        )
    print(
        f"names passes: {len(passes)} of {n} utterances; CPU per pass "
        f"{result['names_pass_cpu_s_per_pass']} s, per utterance "
        f"{result['names_pass_extra_cpu_s_per_utterance']} s "
        f"(text pass {result['text_pass_cpu_s_per_utterance']} s)"
    )
    for m in misses:
        print("  missed (names pass):", m)
    for e in false_examples:
        print("  false name:", e)
    out = ROOT / "bench" / "results" / "names.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out} in {result['bench_wall_s']}s")


if __name__ == "__main__":
    main()
