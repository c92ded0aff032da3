"""The corpus workbench: import texts, index them for every script, search, concordance and statistics.

Modules, each with one job (SQL lives here and in app/store only):
  records.py     the values that cross module lines: TextRecord (one text to import), Hit (one match)
  fold.py        folding: traditional/variant -> simplified (OpenCC t2s + the shipped variant table), compatibility
                 code points (U+F967 -> U+4E0D), case; the same fold for index and query
  shadow.py      the CJK-aware shadow text: each CJK character its own token, punctuation and line breaks removed,
                 with the position map from shadow offsets back to offsets of the original
  store.py       corpora and texts (title, author, collection, date, source path, content hash), add/list/get,
                 metadata filters, and the FTS5 index over the shadow text (migration m003 in app/store/migrations.py)
  query.py       the search syntax (words, CJK runs, "phrases", prefix*, AND/OR/NOT, parentheses), folded like the
                 index and rendered as an FTS5 MATCH expression; a malformed query is a UserError
  search.py      search pages (count, BM25 when selective, snippets), every occurrence for the concordance, the
                 manuscript mirrored as the corpus "Manuscript"; hits as exact character offsets of the original text
  occurrences.py where a query's phrases occur: one-token phrases from the index's positions (fts5vocab), longer
                 ones from the shadows, mapped back through the position maps
  passages.py    texts cut into overlapping passages on sentence boundaries (by length where unpunctuated), with exact
                 offsets; built with each text in store.py's transaction (migration m008)
  vectors.py     passage vectors: a corpus embedded through the worker, resumably, keyed by embedder checksum; a query
                 embedded; the nearest passages to a vector by brute-force cosine
  passage_index.py BM25 over passages: their own FTS5 index (m009), a question as its query, coverage for refusals
  retrieve.py    passages by BM25, vectors or both merged by reciprocal-rank fusion, with the fallbacks said
  citations.py   an answer's bracketed citations and quotes, each quote checked verbatim (folded) in what it cites
  answer.py      cited answers: retrieve, refuse without generating when nothing is relevant, ask, check
  sample.py      a seeded generated corpus (Zipf-distributed Chinese and English) for benchmarks and tests
  importers/     one reader per format (txt, md, html, docx, epub, pdf, csv, json/jsonl with a field mapping),
                 and the import job: dedupe by hash, incremental, resumable, cancellable, with a report
  tokens.py      tokens for statistics: words for spaced scripts, characters for CJK, folded, with their offsets,
                 and where n-grams break (punctuation, paragraphs, line breaks next to CJK)
  kwic.py        the concordance: hits with left/right context, sorted by L3..R3, exported to CSV
  counts.py      counting over many texts with numpy: dense token ids, n-gram keys, tallies with text ranges
  measures.py    the formulas as functions of plain counts: G² (Dunning), MI, t-score, logDice, %DIFF, log ratio,
                 Gries's DP; the README writes them out
  stats.py       frequency lists, n-grams, collocates (MI, log-likelihood, t-score, logDice), keyness
                 (log-likelihood with %DIFF, log ratio), dispersion (Gries's DP), read through store.iter_texts
  charts.py      the command line's charts (matplotlib, Agg): dispersion_png
"""
