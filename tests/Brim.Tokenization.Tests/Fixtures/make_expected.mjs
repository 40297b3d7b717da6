// Writes expected_ids.json: the token ids Hugging Face's own tokenizer produces for a fixed set of strings.
//
// Engine: @huggingface/tokenizers 0.2.0 (npm; the tokenizer.json engine that transformers.js 4.x uses, a port of
// the Rust `tokenizers` crate). Run from a scratch folder where it is installed, e.g.
//   mkdir /tmp/tokjs && cd /tmp/tokjs && npm init -y && npm install --ignore-scripts @huggingface/tokenizers@0.2.0
//   node <repo>/tests/Brim.Tokenization.Tests/Fixtures/make_expected.mjs
// Only local fixture files are read (no hub access).
//
// Qwen2.5 ships vocab.json + merges.txt (no tokenizer.json); the tokenizer.json is assembled here exactly as
// transformers' Qwen2Converter does (NFC, Split(Qwen2 regex, Isolated) + ByteLevel(use_regex=false), BPE, added
// tokens from tokenizer_config.json's added_tokens_decoder), then run through the same engine.
// "gpt2-llama3-regex" is GPT-2's vocabulary and merges behind Llama 3's pre-tokenizer (Split with the Llama 3
// regex + ByteLevel(use_regex=false)); Llama 3's own tokenizer.json is not among the fixtures.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(join(process.cwd(), "noop.js"));
const { Tokenizer } = require("@huggingface/tokenizers");
const packageDir = dirname(dirname(require.resolve("@huggingface/tokenizers")));
const version = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")).version;
const here = dirname(fileURLToPath(import.meta.url));
const readJson = (p) => JSON.parse(readFileSync(join(here, p), "utf8"));

const LLAMA3_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function qwenTokenizerJson() {
  const config = readJson("qwen2.5/tokenizer_config.json");
  const vocab = readJson("qwen2.5/vocab.json");
  const merges = readFileSync(join(here, "qwen2.5/merges.txt"), "utf8").split("\n")
    .filter((line) => line.length > 0 && !line.startsWith("#version"));
  const added = Object.entries(config.added_tokens_decoder).map(([id, t]) => ({ id: Number(id), ...t }));
  return {
    version: "1.0",
    added_tokens: added,
    normalizer: { type: "NFC" },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: QWEN2_REGEX }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "",
      fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

function gpt2WithLlama3Regex() {
  const json = readJson("gpt2/tokenizer.json");
  json.pre_tokenizer = {
    type: "Sequence",
    pretokenizers: [
      { type: "Split", pattern: { Regex: LLAMA3_REGEX }, behavior: "Isolated", invert: false },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  };
  return json;
}

const common = [
  "Hello world",
  "Hello, world! How are you doing today?",
  "  leading spaces and   multiple   spaces  ",
  "Line one\nLine two\n\nLine four\r\nend",
  "Café naïve résumé Ångström façade",
  "日本語のテキストと中文文本，还有한국어",
  "Emoji: 😀🎉 and ZWJ 👨‍👩‍👧‍👦 family, flag 🇫🇷, skin 👍🏽",
  "Numbers 1234567 and 3.14159, year 2025",
  "Tabs\tand\ttabs\t\t end",
  "don't I'll we've THEY'RE it's",
  "def f(x):\n    return x ** 2  # square",
  "Привет мир! Γειά σου Κόσμε. مرحبا",
  "𠀀𠀁 astral CJK and 𝒜𝒷𝒸 script",
  " starts with a space",
  "a",
];

const tokenizers = [
  { name: "gpt2", json: () => readJson("gpt2/tokenizer.json"), config: "gpt2/tokenizer_config.json",
    special: ["Hi<|endoftext|>there", "<|endoftext|><|endoftext|>x"] },
  { name: "gpt2-llama3-regex", json: gpt2WithLlama3Regex, config: "gpt2/tokenizer_config.json",
    special: ["I'M HERE 12345678", "x\n\n\ny  \n z"] },
  { name: "qwen2.5", json: qwenTokenizerJson, config: "qwen2.5/tokenizer_config.json",
    special: ["<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n", "<tool_call>{\"a\": 1}</tool_call> 123456"] },
  { name: "tinyllama", json: () => readJson("tinyllama/tokenizer.json"), config: "tinyllama/tokenizer_config.json",
    special: ["<s>Hello</s> world", "Hi</s>there"] },
  { name: "mistral", json: () => readJson("mistral/tokenizer.json"), config: "mistral/tokenizer_config.json",
    special: ["[INST] What is 2+2? [/INST]", "Hi</s>there [INST]x"] },
];

const out = { engine: `@huggingface/tokenizers ${version}`, tokenizers: {} };
for (const t of tokenizers) {
  const config = readJson(t.config);
  const tokenizer = new Tokenizer(t.json(), config);
  const cases = [...common, ...t.special].map((text) => {
    const ids = tokenizer.encode(text, { add_special_tokens: true }).ids.map(Number);
    const idsNoSpecial = tokenizer.encode(text, { add_special_tokens: false }).ids.map(Number);
    const decoded = tokenizer.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
    return { text, ids, idsNoSpecial, decoded };
  });
  out.tokenizers[t.name] = cases;
}
writeFileSync(join(here, "expected_ids.json"), JSON.stringify(out, null, 1) + "\n");
console.log(`wrote expected_ids.json with ${version}`);
