"""Build tiny random-weight GGUF models (and deliberately broken files) for tests of the real llama.cpp path."""

from __future__ import annotations

import io
from pathlib import Path

import gguf
import numpy as np
import sentencepiece as spm

TINY_NAME = "tiny-llama.gguf"
TINY_CHAT_NAME = "tiny-llama-chat.gguf"
N_LAYERS = 2
N_EMBD = 64
N_HEADS = 4
N_HEADS_KV = 4
N_FF = 128
CONTEXT_LENGTH = 2048
VOCAB_SIZE = 700
SEED = 1234

# Control pieces every tiny model carries, so base and chat variants share one vocabulary (drafter tests need that).
TURN_MARKERS = ("<start_of_turn>", "<end_of_turn>")

# Gemma-style template, the same shape as the embedded model's, so chat formatting is exercised for real.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
    "<start_of_turn>{{ role }}\n{{ message['content'] | trim }}<end_of_turn>\n"
    "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)

CORPUS = """\
The scriptorium was a quiet room at the top of the abbey, where monks copied books by hand. Light came through tall \
windows, and every desk held ink, quills, a knife for scraping mistakes, and a sheet of vellum ruled with faint lines.
A careful writer reads a sentence aloud before keeping it. Short words carry weight; long words must earn their place. \
When a paragraph wanders, cut it in two, and let each half say one thing plainly.
Language models predict the next token from the tokens before it. They do not know what is true; they know what is \
likely. A good tool shows its work, keeps the writer in charge, and never sends a private draft across the network.
In the spring of that year the river rose over its banks, the mill stopped turning, and the village gathered on the \
hill to watch the water. Nobody spoke for a long time. Then someone laughed, and the children ran down to the mud.
Numbers matter too: 1, 2, 3, 10, 42, 100, 2048. Quotation marks, "like these", and questions? Exclamations! (Brackets.)
道可道，非常道。名可名，非常名。無名天地之始；有名萬物之母。故常無欲，以觀其妙；常有欲，以觀其徼。此兩者，同出而異名，同謂之玄。玄之又玄，眾妙之門。
子曰：學而時習之，不亦說乎？有朋自遠方來，不亦樂乎？人不知而不慍，不亦君子乎？有子曰：其為人也孝弟，而好犯上者，鮮矣。
晉太元中，武陵人捕魚為業。緣溪行，忘路之遠近。忽逢桃花林，夾岸數百步，中無雜樹，芳草鮮美，落英繽紛。漁人甚異之，復前行，欲窮其林。
林盡水源，便得一山，山有小口，彷彿若有光。便捨船，從口入。初極狹，纔通人。復行數十步，豁然開朗。土地平曠，屋舍儼然，有良田美池桑竹之屬。
我们的写作工具完全在本机运行，不需要网络，也不会把草稿发送到任何地方。作者可以导入自己的文章，建立语料库，查找词语的用法，比较不同时代的文本。
今天下午下了一场大雨。我坐在图书馆的窗边，读一本关于古代书法的书。书里说，写字的时候要心平气和，一笔一画都不能着急。雨停以后，天空变得很清楚。
学习中文的人常常觉得汉字很难，但是只要每天练习，慢慢就会发现其中的规律。语言是活的，它随着时代变化，也保存着过去的记忆。
"""


def _train_tokenizer() -> spm.SentencePieceProcessor:
    """Train the BPE tokenizer in memory; one thread and fixed input keep the result byte-identical run to run."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS.splitlines()),
        model_writer=model,
        model_type="bpe",
        vocab_size=VOCAB_SIZE,
        character_coverage=1.0,
        byte_fallback=True,
        # llama.cpp neither normalizes nor squeezes spaces, so the tokenizer must not either, or round trips fail.
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        # Like Gemma's tokenizer: no dummy space prefix, so detokenize(tokenize(s)) == s without a stray leading space.
        add_dummy_prefix=False,
        control_symbols=list(TURN_MARKERS),
        num_threads=1,
        shuffle_input_sentence=False,
        minloglevel=2,
    )
    return spm.SentencePieceProcessor(model_proto=model.getvalue())


def _token_type(sp: spm.SentencePieceProcessor, i: int) -> int:
    """Map a sentencepiece piece kind onto llama.cpp's token types."""
    if sp.is_unknown(i):
        return gguf.TokenType.UNKNOWN
    if sp.is_control(i):
        return gguf.TokenType.CONTROL
    if sp.is_byte(i):
        return gguf.TokenType.BYTE
    if sp.is_unused(i):
        return gguf.TokenType.UNUSED
    return gguf.TokenType.NORMAL


def _write_tokenizer(writer: gguf.GGUFWriter, sp: spm.SentencePieceProcessor) -> None:
    """Write the vocabulary as llama.cpp's "llama" (SPM) tokenizer expects it."""
    n = sp.get_piece_size()
    writer.add_tokenizer_model("llama")
    writer.add_token_list([sp.id_to_piece(i).encode("utf-8") for i in range(n)])
    writer.add_token_scores([float(sp.get_score(i)) for i in range(n)])
    writer.add_token_types([int(_token_type(sp, i)) for i in range(n)])
    writer.add_bos_token_id(sp.bos_id())
    writer.add_eos_token_id(sp.eos_id())
    writer.add_unk_token_id(sp.unk_id())
    writer.add_eot_token_id(sp.piece_to_id(TURN_MARKERS[1]))
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_add_space_prefix(False)


def _write_hparams(writer: gguf.GGUFWriter, name: str) -> None:
    """Write the llama hyperparameters of a 2-layer, width-64 model."""
    writer.add_name(name)
    writer.add_context_length(CONTEXT_LENGTH)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYERS)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEADS)
    writer.add_head_count_kv(N_HEADS_KV)
    writer.add_rope_dimension_count(N_EMBD // N_HEADS)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)


def _write_weights(writer: gguf.GGUFWriter, n_vocab: int) -> None:
    """Add random f32 tensors; numpy shapes are (out, in), which GGUFWriter stores reversed as ggml expects."""
    rng = np.random.default_rng(SEED)

    def rand(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.5).astype(np.float32)

    ones = np.ones(N_EMBD, dtype=np.float32)
    n_kv = N_EMBD // N_HEADS * N_HEADS_KV
    writer.add_tensor("token_embd.weight", rand(n_vocab, N_EMBD))
    for i in range(N_LAYERS):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", ones)
        writer.add_tensor(f"blk.{i}.attn_q.weight", rand(N_EMBD, N_EMBD))
        writer.add_tensor(f"blk.{i}.attn_k.weight", rand(n_kv, N_EMBD))
        writer.add_tensor(f"blk.{i}.attn_v.weight", rand(n_kv, N_EMBD))
        writer.add_tensor(f"blk.{i}.attn_output.weight", rand(N_EMBD, N_EMBD))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", ones)
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", rand(N_FF, N_EMBD))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", rand(N_FF, N_EMBD))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", rand(N_EMBD, N_FF))
    writer.add_tensor("output_norm.weight", ones)
    writer.add_tensor("output.weight", rand(n_vocab, N_EMBD))


def _finish(writer: gguf.GGUFWriter) -> None:
    """Write header, metadata and tensors, then close."""
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def build_tiny_model(dir: str | Path, chat_template: str | None = None, name: str = TINY_NAME) -> Path:
    """Write a deterministic ~0.7 MB llama GGUF with a sentencepiece vocabulary into dir and return its path."""
    path = Path(dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    sp = _train_tokenizer()
    writer = gguf.GGUFWriter(path, "llama")
    _write_hparams(writer, "tiny-llama")
    _write_tokenizer(writer, sp)
    if chat_template is not None:
        writer.add_chat_template(chat_template)
    _write_weights(writer, sp.get_piece_size())
    _finish(writer)
    return path


def build_tiny_chat_model(dir: str | Path) -> Path:
    """Write the tiny model with a Gemma-style chat template (same vocabulary and weights as the base)."""
    return build_tiny_model(dir, chat_template=CHAT_TEMPLATE, name=TINY_CHAT_NAME)


def write_not_gguf(dir: str | Path) -> Path:
    """Write a plain text file with a .gguf name."""
    path = Path(dir) / "not-a-model.gguf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("This is a shopping list, not a language model.\neggs\nflour\n", encoding="utf-8")
    return path


def write_truncated_gguf(dir: str | Path, source: str | Path) -> Path:
    """Write the first half of source, as an interrupted download would leave it."""
    data = Path(source).read_bytes()
    path = Path(dir) / "truncated.gguf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: len(data) // 2])
    return path


def write_unsupported_arch_gguf(dir: str | Path) -> Path:
    """Write a well-formed GGUF whose general.architecture no runtime knows."""
    path = Path(dir) / "unsupported-arch.gguf"
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(path, "notarealarch")
    writer.add_name("not a real architecture")
    writer.add_context_length(CONTEXT_LENGTH)
    writer.add_tensor("token_embd.weight", np.zeros((8, 4), dtype=np.float32))
    _finish(writer)
    return path
