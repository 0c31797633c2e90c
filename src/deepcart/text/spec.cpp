#include "deepcart/text/spec.h"

#include "deepcart/core/error.h"

namespace deepcart::text {

TextTask text_task_named(const std::string& name) {
  if (name == "sentiment") return TextTask::kSentiment;
  if (name == "stars") return TextTask::kStars;
  if (name == "intent") return TextTask::kIntent;
  throw Error("--task: expected sentiment, stars or intent, found '" + name + "'");
}

std::string text_task_name(TextTask task) {
  switch (task) {
    case TextTask::kSentiment:
      return "sentiment";
    case TextTask::kStars:
      return "stars";
    case TextTask::kIntent:
      return "intent";
  }
  return "sentiment";
}

TrainSpec default_spec(const std::string& arch, const std::string& finetune) {
  TrainSpec s;
  s.hparams = {{"arch", arch}};
  s.train.epochs = 10;
  s.train.batch_size = 64;
  s.train.lr = 0.002;
  s.train.optimizer = "adamw";
  s.train.weight_decay = 0.01;
  s.train.schedule = "cosine";
  s.train.patience = 3;
  if (arch == "minilm") {
    s.hparams = {{"arch", "minilm"}, {"encoder", "minilm"}};
    s.train.batch_size = 32;
    if (finetune == "full") {  // the head alone first, then every layer, the lower ones slower
      s.finetune = "full";
      s.head_epochs = 30;
      s.head_lr = 0.01;
      s.layer_decay = 0.9;
      s.warmup_fraction = 0.1;
      s.train.epochs = 3;
      s.train.lr = 1e-4;
      s.train.patience = 2;
    } else if (finetune == "setfit") {  // contrastive pairs, then a head on the embeddings
      s.finetune = "setfit";
      s.warmup_fraction = 0.1;
      s.head_lr = 0.03;
      s.head_epochs = 30;
      s.train.epochs = 10;
      s.train.lr = 2e-5;
      s.train.batch_size = 16;
      s.train.patience = 3;
    } else {  // only the head learns, on embeddings computed once: cheap epochs
      s.finetune = "head";
      s.train.epochs = 30;
      s.train.lr = finetune == "shots" ? 0.03 : 0.01;  // few texts: fewer steps, a faster rate
      s.train.patience = 5;
    }
  }
  return s;
}

std::vector<Setting> spec_settings() {
  using K = SettingKind;
  std::vector<Setting> s = {
      {"data", "/data/path", K::kText, "CSV, TSV or JSONL file of labelled texts"},
      {"test", "/data/test_path", K::kText,
       "official test file (same columns); default: a stratified --test-fraction of --data"},
      {"text-col", "/data/text_cols", K::kRepeated,
       "text column(s), joined in order (repeat the flag)"},
      {"label-col", "/data/label_col", K::kText, "label column"},
      {"valid-fraction", "/data/valid_fraction", K::kNumber,
       "share of each label held out for validation"},
      {"test-fraction", "/data/test_fraction", K::kNumber,
       "share of each label held out for testing (without --test)"},
      {"task",
       "/task",
       K::kText,
       "sentiment | stars (numeric labels, adds MAE) | intent (adds an out-of-scope threshold)",
       {"sentiment", "stars", "intent"}},
      {"tokenizer",
       "/tokenizer/kind",
       K::kText,
       "words (CJK characters, Latin words) | unigram | bpe (SentencePiece)",
       {"words", "unigram", "bpe"}},
      {"vocab-size", "/tokenizer/vocab_size", K::kInt, "vocabulary size (at most, for words)"},
      {"min-count", "/tokenizer/min_count", K::kInt, "words: rarer pieces are unknown"},
      {"max-length", "/tokenizer/max_length", K::kInt, "tokens kept per text"},
      {"model",
       "/hparams/arch",
       K::kText,
       "bow | gru | lstm | transformer | minilm (pretrained all-MiniLM-L6-v2; its defaults: "
       "--finetune head: 30 epochs, --lr 0.01 (0.03 with --shots), --batch-size 32; "
       "--finetune full: --head-epochs 30 at --head-lr 0.01, then 3 epochs at --lr 1e-4, "
       "--layer-decay 0.9, --warmup 0.1; --finetune setfit: 10 epochs, --lr 2e-5, "
       "--batch-size 16, --warmup 0.1, then --head-epochs 30 at --head-lr 0.03)",
       {"bow", "gru", "lstm", "transformer", "minilm"}},
      {"encoder", "/hparams/encoder", K::kText,
       "minilm: the pretrained encoder: minilm (installed by setup) or a sentence-transformers "
       "BERT folder"},
      {"finetune",
       "/finetune",
       K::kText,
       "minilm: head (frozen encoder, a linear head on its embeddings: fast) | full (the head "
       "alone, then every layer: most accurate, minutes) | setfit (contrastive pairs of texts, "
       "then a head)",
       {"head", "full", "setfit"}},
      {"shots", "/shots", K::kInt,
       "train on at most this many texts of each label, drawn with --seed (0 = all)"},
      {"head-epochs", "/head_epochs", K::kInt,
       "minilm: epochs of the head alone on frozen embeddings, before full fine-tuning (0 = "
       "none) or after setfit's contrastive epochs (there: 30)"},
      {"layer-decay", "/layer_decay", K::kNumber,
       "minilm full: each layer learns at this factor of the rate of the layer above (there: 0.9)"},
      {"head-lr", "/head_lr", K::kNumber,
       "minilm: the head's peak learning rate in --head-epochs (full: 0.01, setfit: 0.03) and "
       "in full fine-tuning from a random head (--head-epochs 0); 0 = --lr"},
      {"warmup", "/warmup_fraction", K::kNumber,
       "share of all training steps spent warming up, over --warmup-steps when > 0 (minilm full: "
       "0.1)"},
      {"dim", "/hparams/dim", K::kInt, "token embedding size"},
      {"hidden", "/hparams/hidden", K::kInt, "gru/lstm: hidden size per direction"},
      {"layers", "/hparams/layers", K::kInt, "gru/lstm/transformer layers"},
      {"heads", "/hparams/heads", K::kInt, "transformer: attention heads"},
      {"pooling",
       "/hparams/pooling",
       K::kText,
       "gru/lstm/transformer: max | mean",
       {"max", "mean"}},
      {"buckets", "/hparams/buckets", K::kInt, "bow: hashed n-gram buckets (0 = unigrams only)"},
      {"ngrams", "/hparams/ngrams", K::kInt, "bow: longest token n-gram hashed (1, 2 or 3)"},
      {"dropout", "/hparams/dropout", K::kNumber, "gru/lstm/transformer: dropout before the head"},
      {"label-smoothing", "/label_smoothing", K::kNumber, "cross-entropy label smoothing"},
      {"label-names", "/label_names", K::kText,
       "names people read for the labels: 0=not recommended,1=recommended, or a label,name CSV"},
      {"export-split", "/export_split", K::kText,
       "write the train/valid/test parts as fastText files (pre-tokenised) into this folder"},
  };
  for (auto& t : train_settings("/train")) s.push_back(t);
  return s;
}

void to_json(nlohmann::json& j, const DataSpec& d) {
  j = {{"path", d.path},
       {"test_path", d.test_path},
       {"text_cols", d.columns.text},
       {"label_col", d.columns.label},
       {"valid_fraction", d.valid_fraction},
       {"test_fraction", d.test_fraction}};
}

void from_json(const nlohmann::json& j, DataSpec& d) {
  const DataSpec def;
  d.path = j.value("path", def.path);
  d.test_path = j.value("test_path", def.test_path);
  d.columns.text = j.value("text_cols", def.columns.text);
  d.columns.label = j.value("label_col", def.columns.label);
  d.valid_fraction = j.value("valid_fraction", def.valid_fraction);
  d.test_fraction = j.value("test_fraction", def.test_fraction);
}

void to_json(nlohmann::json& j, const TrainSpec& s) {
  const TokenizerOptions& t = s.tokenizer;
  j = {{"data", s.data},
       {"task", text_task_name(s.task)},
       {"tokenizer",
        {{"kind", t.kind},
         {"vocab_size", t.vocab_size},
         {"min_count", t.min_count},
         {"max_length", t.max_length},
         {"max_training_chars", t.max_training_chars}}},
       {"hparams", s.hparams},
       {"label_smoothing", s.label_smoothing},
       {"answers", s.answers},
       {"label_names", s.label_names},
       {"export_split", s.export_split},
       {"finetune", s.finetune},
       {"layer_decay", s.layer_decay},
       {"head_lr", s.head_lr},
       {"warmup_fraction", s.warmup_fraction},
       {"head_epochs", s.head_epochs},
       {"shots", s.shots},
       {"train", s.train}};
}

void from_json(const nlohmann::json& j, TrainSpec& s) {
  const TrainSpec def;
  s.data = j.value("data", def.data);
  s.task = text_task_named(j.value("task", text_task_name(def.task)));
  const nlohmann::json t = j.value("tokenizer", nlohmann::json::object());
  s.tokenizer.kind = t.value("kind", def.tokenizer.kind);
  s.tokenizer.vocab_size = t.value("vocab_size", def.tokenizer.vocab_size);
  s.tokenizer.min_count = t.value("min_count", def.tokenizer.min_count);
  s.tokenizer.max_length = t.value("max_length", def.tokenizer.max_length);
  s.tokenizer.max_training_chars = t.value("max_training_chars", def.tokenizer.max_training_chars);
  s.hparams = j.value("hparams", def.hparams);
  s.label_smoothing = j.value("label_smoothing", def.label_smoothing);
  s.answers = j.value("answers", def.answers);
  // `--label-names` gives text (pairs or a file); a stored spec holds the map.
  if (j.contains("label_names") && j.at("label_names").is_string())
    s.label_names = parse_label_names(j.at("label_names").get<std::string>());
  else
    s.label_names = j.value("label_names", def.label_names);
  s.export_split = j.value("export_split", def.export_split);
  s.finetune = j.value("finetune", def.finetune);
  s.layer_decay = j.value("layer_decay", def.layer_decay);
  s.head_lr = j.value("head_lr", def.head_lr);
  s.warmup_fraction = j.value("warmup_fraction", def.warmup_fraction);
  s.head_epochs = j.value("head_epochs", def.head_epochs);
  s.shots = j.value("shots", def.shots);
  s.train = j.value("train", def.train);
}

}  // namespace deepcart::text
