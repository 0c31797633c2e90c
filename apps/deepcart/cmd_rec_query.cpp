// deepcart rec recommend | similar: top-K from a trained recommender
#include <torch/torch.h>

#include <cstdio>
#include <fstream>

#include "cli_common.h"
#include "deepcart/core/error.h"
#include "deepcart/rec/recommender.h"

namespace deepcart::cli {
namespace {

void print_items(const std::string& title, const std::vector<rec::ScoredItem>& items) {
  std::printf("%s\n", title.c_str());
  for (size_t j = 0; j < items.size(); ++j) {
    std::printf("%3zu. %-16s %.4f", j + 1, items[j].item.c_str(), items[j].score);
    if (!items[j].because.empty()) {
      std::printf("  because you bought");
      for (size_t b = 0; b < items[j].because.size(); ++b) {
        std::printf("%s %s", b ? " and" : "", items[j].because[b].c_str());
      }
    }
    std::printf("\n");
  }
}

nlohmann::json items_json(const std::vector<rec::ScoredItem>& items) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : items)
    out.push_back({{"item", s.item}, {"score", s.score}, {"because", s.because}});
  return out;
}

void add_recommend_command(CLI::App* group) {
  auto* cmd =
      group->add_subcommand("recommend", "top-K for a user, an anonymous history, or every user");
  auto common = std::make_shared<Common>();
  auto model_path = std::make_shared<std::string>();
  auto user = std::make_shared<std::string>();
  auto history = std::make_shared<std::string>();
  auto all_out = std::make_shared<std::string>();
  auto k = std::make_shared<int>(10);
  auto include_seen = std::make_shared<bool>(false);
  add_common(cmd, *common);
  add_device(cmd, *common);
  cmd->add_option("--model", *model_path, "trained ModelFile (.dcm)")->required();
  auto* u = cmd->add_option("--user", *user, "user id as in the training data");
  auto* h =
      cmd->add_option("--history", *history, "a new customer's items, oldest first: i1,i2,...");
  auto* a = cmd->add_option("--all", *all_out, "write top-K for every user to this CSV");
  u->excludes(h)->excludes(a);
  h->excludes(a);
  cmd->add_option("--k", *k, "how many items")->capture_default_str();
  cmd->add_flag("--include-seen", *include_seen, "also rank items the user already has");
  cmd->callback([=] {
    init_context(*common);
    rec::Recommender model = rec::Recommender::load(*model_path);
    if (!all_out->empty()) {
      std::ofstream csv(*all_out);
      if (!csv) throw Error(*all_out + ": cannot open for writing");
      csv << "user_id,rank,item_id,score\n";
      for (int64_t id = 0; id < model.users().size(); ++id) {
        const std::string name = model.users().name(id);
        auto items = model.recommend(name, *k, !*include_seen, 0);
        for (size_t j = 0; j < items.size(); ++j) {
          csv << name << ',' << j + 1 << ',' << items[j].item << ',' << items[j].score << '\n';
        }
      }
      if (!csv.flush()) throw Error(*all_out + ": write failed");
      if (!common->quiet) {
        std::printf("wrote top-%d for %lld users to %s\n", *k, (long long)model.users().size(),
                    all_out->c_str());
      }
      return;
    }
    std::vector<rec::ScoredItem> items;
    std::string who;
    if (!history->empty()) {
      items = model.recommend_history(parse_name_list(*history), *k);
      who = "a new customer with history " + *history;
    } else if (!user->empty()) {
      items = model.recommend(*user, *k, !*include_seen);
      who = *user;
    } else {
      throw Error("give --user U, --history i1,i2,... or --all FILE.csv");
    }
    if (common->json)
      return print_json({{"user", *user}, {"history", *history}, {"items", items_json(items)}});
    print_items("top " + std::to_string(items.size()) + " for " + who + ":", items);
  });
}

void add_similar_command(CLI::App* group) {
  auto* cmd = group->add_subcommand("similar", "nearest items by embedding");
  auto common = std::make_shared<Common>();
  auto model_path = std::make_shared<std::string>();
  auto item = std::make_shared<std::string>();
  auto k = std::make_shared<int>(10);
  add_common(cmd, *common);
  add_device(cmd, *common);
  cmd->add_option("--model", *model_path, "trained ModelFile (.dcm)")->required();
  cmd->add_option("--item", *item, "item id")->required();
  cmd->add_option("--k", *k, "how many items")->capture_default_str();
  cmd->callback([=] {
    init_context(*common);
    rec::Recommender model = rec::Recommender::load(*model_path);
    auto items = model.similar(*item, *k);
    if (common->json) return print_json({{"item", *item}, {"similar", items_json(items)}});
    print_items("items most like " + *item + " (cosine similarity):", items);
  });
}

}  // namespace

void add_rec_query_commands(CLI::App* group) {
  add_recommend_command(group);
  add_similar_command(group);
}

}  // namespace deepcart::cli
