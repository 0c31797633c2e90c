// deepcart rec recommend | similar: top-K from a trained recommender
#include <torch/torch.h>

#include <cstdio>
#include <fstream>

#include "cli_common.h"
#include "deepcart/core/error.h"
#include "deepcart/rec/recommender.h"

namespace deepcart::cli {
namespace {

void add_recommend_command(CLI::App* group) {
  struct Flags : Common {
    std::string model, user, history, all_out;
    int k = 10;
    bool include_seen = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd =
      add_command(group, "recommend", "top-K for a user, an anonymous history, or every user", *f);
  model_opt(cmd, f->model);
  auto* u = cmd->add_option("--user", f->user, "user id as in the training data");
  auto* h =
      cmd->add_option("--history", f->history, "a new customer's items, oldest first: i1,i2,...");
  auto* a = cmd->add_option("--all", f->all_out, "write top-K for every user to this CSV");
  u->excludes(h)->excludes(a);
  h->excludes(a);
  opt(cmd, "--k", f->k, "how many items");
  cmd->add_flag("--include-seen", f->include_seen, "also rank items the user already has");
  cmd->callback([=] {
    init_context(*f);
    rec::Recommender model = rec::Recommender::load(f->model);
    if (!f->all_out.empty()) {
      model.write_top_k_csv(f->all_out, f->k, !f->include_seen);
      if (!f->quiet) {
        std::printf("wrote top-%d for %lld users to %s\n", f->k, (long long)model.users().size(),
                    f->all_out.c_str());
      }
      return;
    }
    std::vector<rec::ScoredItem> items;
    std::string who = f->user;
    if (!f->history.empty()) {
      items = model.recommend_history(
          parse_setting<std::vector<std::string>>("history", SettingKind::kNames, f->history),
          f->k);
      who = "a new customer with history " + f->history;
    } else if (!f->user.empty()) {
      items = model.recommend(f->user, f->k, !f->include_seen);
    } else {
      throw Error("give --user U, --history i1,i2,... or --all FILE.csv");
    }
    if (f->json) return print_json({{"user", f->user}, {"history", f->history}, {"items", items}});
    std::printf(
        "%s",
        rec::describe("top " + std::to_string(items.size()) + " for " + who + ":", items).c_str());
  });
}

void add_similar_command(CLI::App* group) {
  struct Flags : Common {
    std::string model, item;
    int k = 10;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = add_command(group, "similar", "nearest items by embedding", *f);
  model_opt(cmd, f->model);
  cmd->add_option("--item", f->item, "item id")->required();
  opt(cmd, "--k", f->k, "how many items");
  cmd->callback([=] {
    init_context(*f);
    rec::Recommender model = rec::Recommender::load(f->model);
    auto items = model.similar(f->item, f->k);
    if (f->json) return print_json({{"item", f->item}, {"similar", items}});
    std::printf(
        "%s", rec::describe("items most like " + f->item + " (cosine similarity):", items).c_str());
  });
}

}  // namespace

void add_rec_query_commands(CLI::App* group) {
  add_recommend_command(group);
  add_similar_command(group);
}

}  // namespace deepcart::cli
