"""The chat page's words: UI strings (it/en), example questions, answer lengths, month names."""

from __future__ import annotations

from rag.errors import InputError

STRINGS: dict[str, dict[str, str]] = {
    "it": {
        "page_title": "Chiedi alle notizie",
        "subtitle": "Fai una domanda sugli articoli indicizzati: la risposta cita le fonti, tutto in locale.",
        "placeholder": "La tua domanda…",
        "send": "Chiedi",
        "clear": "Nuova conversazione",
        "chat_label": "Conversazione",
        "chat_empty": "Fai una domanda sugli articoli, oppure scegline una qui sotto.",
        "sources": "Fonti",
        "sources_empty": "Le fonti della risposta compariranno qui.",
        "sources_of": "Fonti della risposta a",
        "sources_hint": "Tocca una domanda nella conversazione per rivederne le fonti.",
        "searched": "Ricerca",
        "rewritten": "riscritta con la conversazione",
        "score": "punteggio",
        "searching": "Cerco negli articoli…",
        "writing": "Scrivo la risposta…",
        "loading_model": "Carico il modello {model} (solo la prima volta)…",
        "refused": "Non ho trovato questa informazione negli articoli indicizzati.",
        "refused_panel": "Nessuna risposta: i passaggi trovati non bastano per rispondere.",
        "why": "Perché",
        "why:weak retrieval": "i passaggi trovati non riguardano la domanda",
        "why:model found no answer": "il modello non vi ha trovato la risposta",
        "why:answer is not the kind the question asks for": "la bozza non dava ciò che si chiede (un numero, una data)",
        "why:answer not grounded": "la bozza di risposta non è sostenuta dai passaggi",
        "why:quoted sentences do not address the question": "le frasi citabili non rispondono alla domanda",
        "why:no source sentence matches the answer": "nessuna frase dei passaggi corrisponde alla bozza di risposta",
        "consulted": "Passaggi consultati",
        "show_passage": "Mostra il passaggio intero",
        "no_passages": "Nessun passaggio trovato.",
        "error": "Qualcosa è andato storto",
        "empty_question": "Scrivi una domanda prima di inviare.",
        "settings": "Impostazioni",
        "index": "Indice",
        "passages": "Passaggi da consultare",
        "model": "Modello",
        "model_large": "Qwen2.5 1.5B (più preciso)",
        "model_small": "Qwen2.5 0.5B (più veloce)",
        "length": "Lunghezza della risposta",
        "length_short": "Breve",
        "length_medium": "Media",
        "length_long": "Lunga",
        "examples": "Esempi",
        "add_title": "Aggiungi articoli",
        "add_help": "File .txt o .md (un articolo per file) oppure .jsonl (un articolo per riga, con `id` e `text`).",
        "add_button": "Scegli i file da aggiungere…",
        "add_none": "Scegli prima uno o più file.",
        "add_failed": "Nessun articolo aggiunto, l'indice non è cambiato.",
        "add_done": "Indice «{index}» aggiornato. Aggiunti: {added} · sostituiti: {replaced} · già presenti: "
        "{skipped} · passaggi indicizzati: {chunks} ({seconds:.1f} s). Ora puoi fare domande su questi articoli.",
        "add_reading": "Leggo i file…",
        "add_embedding": "Calcolo i vettori dei passaggi…",
        "add_reloading": "Ricarico l'indice…",
        "bad_type": "{name}: tipo di file non accettato; usa .txt, .md o .jsonl",
        "no_articles": "{name}: il file è vuoto, non contiene articoli",
    },
    "en": {
        "page_title": "Ask the news",
        "subtitle": "Ask a question about the indexed articles: the answer cites its sources, all offline.",
        "placeholder": "Your question…",
        "send": "Ask",
        "clear": "New conversation",
        "chat_label": "Conversation",
        "chat_empty": "Ask a question about the articles, or pick one below.",
        "sources": "Sources",
        "sources_empty": "The sources of the answer will appear here.",
        "sources_of": "Sources of the answer to",
        "sources_hint": "Tap a question in the conversation to see its sources again.",
        "searched": "Searched",
        "rewritten": "rewritten with the conversation",
        "score": "score",
        "searching": "Searching the articles…",
        "writing": "Writing the answer…",
        "loading_model": "Loading the {model} model (first time only)…",
        "refused": "I did not find this information in the indexed articles.",
        "refused_panel": "No answer: the passages found are not enough to answer.",
        "why": "Why",
        "why:weak retrieval": "the passages found are not about the question",
        "why:model found no answer": "the model found no answer in them",
        "why:answer is not the kind the question asks for": "the draft did not give what was asked (a number, a date)",
        "why:answer not grounded": "the draft answer is not supported by the passages",
        "why:quoted sentences do not address the question": "the quotable sentences do not answer the question",
        "why:no source sentence matches the answer": "no sentence of the passages matches the draft answer",
        "consulted": "Passages consulted",
        "show_passage": "Show the whole passage",
        "no_passages": "No passage found.",
        "error": "Something went wrong",
        "empty_question": "Type a question before sending.",
        "settings": "Settings",
        "index": "Index",
        "passages": "Passages to consult",
        "model": "Model",
        "model_large": "Qwen2.5 1.5B (more accurate)",
        "model_small": "Qwen2.5 0.5B (faster)",
        "length": "Answer length",
        "length_short": "Short",
        "length_medium": "Medium",
        "length_long": "Long",
        "examples": "Examples",
        "add_title": "Add articles",
        "add_help": "`.txt` or `.md` files (one article each) or `.jsonl` (one article a line, with `id` and `text`).",
        "add_button": "Choose files to add…",
        "add_none": "Choose one or more files first.",
        "add_failed": "No article added; the index is unchanged.",
        "add_done": "Index “{index}” updated. Added: {added} · replaced: {replaced} · already there: "
        "{skipped} · passages indexed: {chunks} ({seconds:.1f} s). You can now ask about these articles.",
        "add_reading": "Reading the files…",
        "add_embedding": "Embedding the passages…",
        "add_reloading": "Reloading the index…",
        "bad_type": "{name}: file type not accepted; use .txt, .md or .jsonl",
        "no_articles": "{name}: the file is empty, it holds no articles",
    },
}
LANGUAGES = tuple(STRINGS)

# Questions the seed articles answer (seeds/000_… Rutte in Kiev, seeds/004_… Umerov in Brussels).
EXAMPLES: dict[str, list[str]] = {
    "it": [
        "Chi accompagnava Umerov a Bruxelles?",
        "Quando arriva Mark Rutte a Kiev?",
        "Dove terrà il suo discorso Rutte?",
    ],
    "en": [
        "Who went with Umerov to Brussels?",
        "When does Mark Rutte arrive in Kyiv?",
        "Where will Rutte give his speech?",
    ],
}

# Answer length setting -> max_tokens for the generator.
LENGTHS: dict[str, int] = {"short": 60, "medium": 120, "long": 240}
UPLOAD_KINDS = (".txt", ".md", ".jsonl")


def strings(lang: str) -> dict[str, str]:
    if lang not in STRINGS:
        raise InputError(f"unknown UI language {lang!r}; use one of {', '.join(LANGUAGES)}")
    return STRINGS[lang]
