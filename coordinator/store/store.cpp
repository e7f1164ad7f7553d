#include <cctype>
#include <fstream>
#include <regex>

#include "common/error.hpp"
#include "coordinator/store/backends.hpp"

namespace ampere {

std::string redact_store_url(const std::string& url) {
  const std::string userinfo = std::regex_replace(url, std::regex(R"(://([^:/@]+):[^@]*@)"), "://$1:***@");
  return std::regex_replace(userinfo, std::regex(R"(([?&]password=)[^&]*)"), "$1***");
}

bool store_url_has_password(const std::string& url) { return redact_store_url(url) != url; }

std::string store_url_with_password(const std::string& url, const std::string& password) {
  AMPERE_REQUIRE(url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0,
                 "--store-password-file: for a PostgreSQL store only (", redact_store_url(url), ")");
  AMPERE_REQUIRE(!store_url_has_password(url), "--store-password-file: the store URL carries a password already");
  AMPERE_REQUIRE(!password.empty(), "--store-password-file: the file holds no password");
  std::string encoded;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : password) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') encoded += static_cast<char>(c);
    else encoded += std::string("%") + hex[c >> 4] + hex[c & 15];
  }
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "password=" + encoded;
}

std::string store_url_with_password_file(const std::string& url, const std::string& password_file) {
  std::ifstream in(password_file);
  std::string password;
  std::getline(in, password);
  return store_url_with_password(url, password);
}

StorePtr open_store(const std::string& url) {
  if (url.rfind("sqlite:", 0) == 0) {
    const std::string path = url.substr(7);
    AMPERE_REQUIRE(!path.empty(), "store ", url, ": needs a path (sqlite:PATH)");
    return open_sqlite_store(path);
  }
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) return open_postgres_store(url);
  throw InputError("store " + url + ": unknown scheme (known: sqlite:PATH, postgresql://USER@HOST:PORT/DB)");
}

void Store::set_job_states(const std::vector<JobStateChange>& changes) {
  for (const JobStateChange& c : changes) set_job_state(c.job_id, c.state, c.agent_id);
}

std::vector<GroupedResultOutcome> Store::store_results(const std::vector<ResultRecord>& results) {
  std::vector<GroupedResultOutcome> out;
  for (const ResultRecord& r : results) {
    try {
      store_result(r);
      out.push_back({GroupedResultOutcome::Kind::Stored, ""});
    } catch (const DuplicateResult& e) {
      out.push_back({GroupedResultOutcome::Kind::Duplicate, e.what()});
    } catch (const InputError& e) {
      out.push_back({GroupedResultOutcome::Kind::Refused, e.what()});
    }
  }
  return out;
}

StoredCampaign read_stored_campaign(Store& store, CampaignRecord record) {
  StoredCampaign c;
  c.jobs = store.jobs(record.id);
  c.results = store.results(record.id);
  c.kind_models = store.kind_models(record.id);
  c.record = std::move(record);
  return c;
}

std::vector<StoredCampaign> read_stored_campaigns(Store& store) {
  std::vector<StoredCampaign> out;
  for (CampaignRecord& record : store.campaigns()) out.push_back(read_stored_campaign(store, std::move(record)));
  return out;
}

}  // namespace ampere
