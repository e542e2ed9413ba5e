//! Just enough of the Dockerfile and YAML formats to check the project's docker files:
//! stages with their instructions, and values, lists and keys of compose files and
//! workflows found by their path of keys.

/// One stage of a Dockerfile: its `FROM` image, its name, and its instructions (keyword in
/// capitals, arguments with continuation lines joined).
pub struct Stage {
    pub from: String,
    pub name: Option<String>,
    pub instructions: Vec<(String, String)>,
}

impl Stage {
    pub fn all(&self, keyword: &str) -> impl Iterator<Item = &str> {
        self.instructions
            .iter()
            .filter(move |(k, _)| k == keyword)
            .map(|(_, args)| args.as_str())
    }

    /// The stage's one `USER`.
    pub fn user(&self) -> &str {
        let users: Vec<&str> = self.all("USER").collect();
        assert_eq!(users.len(), 1, "{}: one USER line", self.label());
        users[0]
    }

    /// `ENV` settings, `K=V` pairs.
    pub fn env(&self) -> Vec<(String, String)> {
        self.all("ENV")
            .flat_map(str::split_whitespace)
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    pub fn env_value(&self, key: &str) -> Option<String> {
        self.env()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub fn has(&self, keyword: &str, args: &str) -> bool {
        self.all(keyword).any(|a| a == args)
    }

    /// Every `RUN`, one after the other, as one shell text.
    pub fn runs(&self) -> String {
        self.all("RUN").collect::<Vec<_>>().join("\n")
    }

    pub fn label(&self) -> String {
        format!("stage {}", self.name.as_deref().unwrap_or(&self.from))
    }
}

pub fn stages(dockerfile: &str) -> Vec<Stage> {
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            logical.push(std::mem::take(&mut current));
        }
    }
    let mut stages: Vec<Stage> = Vec::new();
    for instruction in logical {
        let (keyword, args) = instruction
            .split_once(char::is_whitespace)
            .unwrap_or((&instruction, ""));
        let (keyword, args) = (keyword.to_uppercase(), args.trim().to_owned());
        if keyword == "FROM" {
            let words: Vec<&str> = args.split_whitespace().collect();
            let from = words
                .iter()
                .find(|w| !w.starts_with("--"))
                .expect("FROM an image");
            let name = words
                .iter()
                .position(|w| w.eq_ignore_ascii_case("as"))
                .map(|i| words[i + 1].to_owned());
            stages.push(Stage {
                from: (*from).to_owned(),
                name,
                instructions: Vec::new(),
            });
        } else {
            stages
                .last_mut()
                .expect("an instruction after FROM")
                .instructions
                .push((keyword, args));
        }
    }
    stages
}

/// The image's stages; the last is the default target.
/// A value of a YAML file of maps and lists (as compose files and workflows are written),
/// found by its path of keys: the text after `key:` on the key's line, unquoted.
pub fn yaml_value(text: &str, path: &[&str]) -> Option<String> {
    let (inline, _) = yaml_node(text, path)?;
    Some(unquote(&inline))
}

/// The items (`- item`) of a YAML list found by its path of keys, unquoted.
pub fn yaml_list(text: &str, path: &[&str]) -> Vec<String> {
    let Some((_, children)) = yaml_node(text, path) else {
        return Vec::new();
    };
    children
        .iter()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .map(unquote)
        .collect()
}

/// The keys directly under a YAML map found by its path of keys.
pub fn yaml_keys(text: &str, path: &[&str]) -> Vec<String> {
    let Some((_, children)) = yaml_node(text, path) else {
        return Vec::new();
    };
    let Some(indent) = children.iter().map(|l| indent_of(l)).min() else {
        return Vec::new();
    };
    children
        .iter()
        .filter(|l| indent_of(l) == indent)
        .filter_map(|l| l.trim().split_once(':').map(|(k, _)| k.to_owned()))
        .collect()
}

pub fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

pub fn unquote(value: &str) -> String {
    let value = value.trim();
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
        .to_owned()
}

/// The inline value and the lines under the node at `path`.
pub fn yaml_node<'a>(text: &'a str, path: &[&str]) -> Option<(String, Vec<&'a str>)> {
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    let mut inline = "";
    for key in path {
        let level = lines.iter().map(|l| indent_of(l)).min()?;
        let at = lines.iter().position(|l| {
            indent_of(l) == level
                && l.trim()
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.starts_with(':'))
        })?;
        inline = lines[at].trim()[key.len() + 1..].trim();
        lines = lines[at + 1..]
            .iter()
            .take_while(|l| indent_of(l) > level)
            .copied()
            .collect();
    }
    Some((inline.to_owned(), lines))
}
