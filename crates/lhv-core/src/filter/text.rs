//! Full-text matching as Qdrant does on a field without a text index (and
//! with a text index of its default word tokenizer, lowercased): both sides
//! are split into words (runs of letters and digits), lowercased.

/// The lowercased words of `text`.
pub(crate) fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty()).map(str::to_lowercase).collect()
}

/// Every word of `query` is a word of `text` (an empty query matches nothing).
pub(crate) fn has_all_words(text: &str, query: &str) -> bool {
    let query = tokens(query);
    let words = tokens(text);
    !query.is_empty() && query.iter().all(|word| words.contains(word))
}

/// Some word of `query` is a word of `text`.
pub(crate) fn has_any_word(text: &str, query: &str) -> bool {
    let words = tokens(text);
    tokens(query).iter().any(|word| words.contains(word))
}

/// The words of `phrase` occur in `text` one after another (an empty phrase matches nothing).
pub(crate) fn has_phrase(text: &str, phrase: &str) -> bool {
    let phrase = tokens(phrase);
    let words = tokens(text);
    !phrase.is_empty() && words.windows(phrase.len()).any(|window| window == phrase.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_runs_of_letters_and_digits_lowercased() {
        assert_eq!(tokens("Hello, wörld_2 x86-64!"), ["hello", "wörld", "2", "x86", "64"]);
        assert!(has_all_words("The quick brown fox", "fox QUICK"));
        assert!(!has_all_words("The quick brown fox", "fox slow"));
        assert!(!has_all_words("anything", " ,"));
        assert!(has_any_word("The quick brown fox", "slow fox"));
        assert!(has_phrase("The quick brown fox", "Quick  brown"));
        assert!(!has_phrase("The quick brown fox", "brown quick"));
        assert!(!has_all_words("foxes", "fox"));
    }
}
