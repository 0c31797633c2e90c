// deepcart rec train | eval | recommend | similar
#include <torch/torch.h>

#include <cstdio>

#include "cli_common.h"
#include "deepcart/core/error.h"
#include "deepcart/dist/launch.h"
#include "deepcart/rec/recommender.h"
#include "deepcart/rec/workflow.h"

namespace deepcart::cli {
namespace {

void add_train(CLI::App* rec) {
  auto f = std::make_shared<TrainFlags>();
  auto* cmd = add_train_command(rec,
                                "train a recommender (pop, bpr-mf, gmf, ncf-mlp, neumf, sasrec, "
                                "gru4rec, ease, or behaviour-mlp on a behaviour log)",
                                *f, rec::spec_settings(), rec::default_spec("behaviour-mlp"));
  cmd->footer(rec::describe_defaults());
  cmd->callback([=] {
    init_context(*f);
    rec::TrainSpec spec =
        spec_from_flags<rec::TrainSpec>(*f, rec::default_spec, rec::spec_settings(), "mlp");
    spec.train.quiet = spec.train.quiet || f->json;
    const bool writes = dist::join_if_launched(spec.train);
    rec::TrainReport report = rec::train(spec);
    if (!writes) return;  // rank 0 evaluates and writes
    model_file_write(report.model, f->out);
    if (f->json) return print_json({{"model", f->out}, {"metrics", report.model.metrics}});
    std::printf("%s", report.describe(f->out, spec.arch).c_str());
  });
}

void add_eval_command(CLI::App* rec) {
  struct Flags : Common {
    std::string model, ks = "5,10,20";
    rec::EvalOptions eval;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = add_command(rec, "eval", "evaluate a recommender on its held-out data", *f);
  model_opt(cmd, f->model);
  cmd->add_option("--data", f->eval.data, "interactions (default: the file it was trained on)");
  opt(cmd, "--k", f->ks, "cut-offs, comma-separated");
  opt(cmd, "--sampled", f->eval.sampled,
      "rank against N sampled negatives instead of all items (papers' protocol)");
  cmd->add_option("--negatives", f->eval.negatives,
                  "behaviour-mlp: sampled negatives per held-out purchase for AUC (default: as "
                  "in training)");
  cmd->callback([=] {
    init_context(*f);
    rec::Recommender model = rec::Recommender::load(f->model);
    f->eval.ks = parse_setting<std::vector<int>>("k", SettingKind::kInts, f->ks);
    f->eval.seed = f->seed;
    const rec::EvalReport r = rec::evaluate(model, f->eval);
    if (f->json) {
      return print_json({{"model", f->model},
                         {"data", r.source},
                         {"protocol", r.protocol},
                         {"metrics", r.metrics}});
    }
    std::printf("%s on %s\nprotocol: %s\n", f->model.c_str(), r.source.c_str(), r.protocol.c_str());
    for (const auto& [name, value] : r.metrics) std::printf("  %-26s %.4f\n", name.c_str(), value);
  });
}

}  // namespace

void register_rec(CLI::App& app) {
  CLI::App* group = app.add_subcommand("rec", "recommendation: train, eval, recommend, similar");
  group->require_subcommand(1);
  add_train(group);
  add_eval_command(group);
  add_rec_query_commands(group);
}

}  // namespace deepcart::cli
